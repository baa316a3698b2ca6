import { useEffect, useRef, useState } from "react";

interface VideoTileProps {
  stream: MediaStream | null;
  /** The participant's name, shown on the tile. */
  label: string;
  /** Mute playback (the local tile: never play your own microphone back). */
  muted?: boolean;
  /** Shown over the tile instead of the picture (waiting, camera off, …). */
  note?: string | undefined;
  /** The local tile is mirrored, like a mirror. */
  mirrored?: boolean;
  who: "local" | "remote";
}

/** One participant's picture (and, for the remote one, sound) with their name. */
export function VideoTile({ stream, label, muted = false, note, mirrored = false, who }: VideoTileProps) {
  const videoRef = useRef<HTMLVideoElement>(null);
  // The browser refused to autoplay with sound (a reload re-joined without a click): play muted
  // and offer a button, which is the click that lets the sound start.
  const [soundBlocked, setSoundBlocked] = useState(false);

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    video.muted = muted;
    video.srcObject = stream;
    setSoundBlocked(false);
    if (stream) {
      video.play().catch((error: unknown) => {
        if (muted || !(error instanceof DOMException) || error.name !== "NotAllowedError") return;
        video.muted = true;
        setSoundBlocked(true);
        video.play().catch(() => undefined);
      });
    }
    return () => {
      video.srcObject = null;
    };
  }, [stream, muted]);

  const playSound = (): void => {
    const video = videoRef.current;
    if (!video) return;
    video.muted = false;
    video.play().then(
      () => setSoundBlocked(false),
      () => undefined,
    );
  };

  const showPicture = !!stream && !note;
  return (
    <figure className="tile" data-tile={who} aria-label={`${label}'s video`}>
      <video
        ref={videoRef}
        autoPlay
        playsInline
        muted={muted}
        className={mirrored ? "mirrored" : undefined}
        hidden={!showPicture}
        aria-label={`${label}'s camera`}
      />
      {note ? <p className="tile-note">{note}</p> : null}
      {soundBlocked && !note ? (
        <button type="button" className="tile-sound" onClick={playSound}>
          Play sound
        </button>
      ) : null}
      <figcaption className="tile-name">{label}</figcaption>
    </figure>
  );
}
