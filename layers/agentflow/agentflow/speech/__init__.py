"""Speech processing: audio decoding, transcription (faster-whisper), diarization (pyannote.audio)."""

import warnings

# pyannote warns on import that torchcodec cannot decode files; we never ask it to (audio reaches it
# as a waveform decoded by PyAV), so that warning is noise in every log. Set here, before any module
# of this package imports pyannote, whichever of them comes first.
warnings.filterwarnings("ignore", message=r"\s*torchcodec is not installed", category=UserWarning)
