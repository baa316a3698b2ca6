"""Speech processing: audio decoding, transcription (faster-whisper), diarization (pyannote.audio)."""
