// Joins PNG screenshots of one size into an animated PNG (APNG: browsers and GitHub play it),
// so the docs can show the pointers moving without a video encoder on the machine.

import { crc32 } from "node:zlib";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface Chunk {
  type: string;
  data: Buffer;
}

function chunks(png: Buffer): Chunk[] {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error("not a PNG");
  const out: Chunk[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    out.push({ type: png.toString("latin1", at + 4, at + 8), data: png.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  return out;
}

/** The IHDR chunk's data (size and format) of frame `index`. */
function header(frame: Chunk[], index: number): Buffer {
  const ihdr = frame.find((c) => c.type === "IHDR");
  if (!ihdr) throw new Error(`frame ${index + 1} has no IHDR chunk`);
  return ihdr.data;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** Every frame shown for `delayMs`, looping forever. */
export function animatedPng(frames: Buffer[], delayMs: number): Buffer {
  const parsed = frames.map(chunks);
  const [ihdr, ...others] = parsed.map((frame, i) => header(frame, i));
  if (!ihdr) throw new Error("no frames");
  for (const [i, other] of others.entries()) {
    if (!other.equals(ihdr)) throw new Error(`frame ${i + 2} differs in size or format`);
  }
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const out: Buffer[] = [SIGNATURE, chunk("IHDR", ihdr)];
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(frames.length, 0); // frames
  actl.writeUInt32BE(0, 4); // loop forever
  out.push(chunk("acTL", actl));
  let sequence = 0;
  for (const [i, frame] of parsed.entries()) {
    const fctl = Buffer.alloc(26);
    fctl.writeUInt32BE(sequence++, 0);
    fctl.writeUInt32BE(width, 4);
    fctl.writeUInt32BE(height, 8);
    fctl.writeUInt32BE(0, 12); // x
    fctl.writeUInt32BE(0, 16); // y
    fctl.writeUInt16BE(delayMs, 20); // delay numerator
    fctl.writeUInt16BE(1000, 22); // delay denominator: ms
    fctl.writeUInt8(0, 24); // dispose: none
    fctl.writeUInt8(0, 25); // blend: source
    out.push(chunk("fcTL", fctl));
    for (const data of frame.filter((c) => c.type === "IDAT").map((c) => c.data)) {
      if (i === 0) {
        out.push(chunk("IDAT", data));
      } else {
        const seq = Buffer.alloc(4);
        seq.writeUInt32BE(sequence++, 0);
        out.push(chunk("fdAT", Buffer.concat([seq, data])));
      }
    }
  }
  out.push(chunk("IEND", Buffer.alloc(0)));
  return Buffer.concat(out);
}
