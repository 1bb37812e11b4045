import sharp from 'sharp';

const FONT = "'DejaVu Sans Mono', 'Liberation Mono', monospace";

/** Black text lines on white, rendered by sharp from SVG (DejaVu Sans Mono, 48 px). */
export async function renderText(lines: readonly string[], options: { rotate180?: boolean } = {}): Promise<Uint8Array> {
  const width = 40 + Math.max(...lines.map((l) => l.length)) * 30;
  const height = 40 + lines.length * 80;
  const text = lines
    .map((line, i) => `<text x="20" y="${80 + i * 80}" font-family="${FONT}" font-size="48" fill="#000">${line}</text>`)
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>${text}</svg>`;
  let image = sharp(Buffer.from(svg));
  if (options.rotate180) image = sharp(await image.png().toBuffer()).rotate(180);
  return new Uint8Array(await image.png().toBuffer());
}

/** A solid-colour image with a smaller patch of another colour, so the dominant colour is known. */
export async function solidImage(
  rgb: readonly [number, number, number],
  options: { format?: 'png' | 'jpeg' | 'webp'; width?: number; height?: number } = {},
): Promise<Uint8Array> {
  const width = options.width ?? 64;
  const height = options.height ?? 48;
  const patch = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .png()
    .toBuffer();
  const image = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .composite([{ input: patch, top: 2, left: 2 }])
    .toFormat(options.format ?? 'png');
  return new Uint8Array(await image.toBuffer());
}
