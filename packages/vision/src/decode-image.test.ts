import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { Code } from '@ferry/core';
import sharp from 'sharp';
import { decodeImage } from './decode-image.js';

const limits = { maxBytes: 1_000_000, maxPixels: 1_000_000 };

function rejectsWith(reason: string) {
  return (e: { code: number; reason: string }) => e.code === Code.INVALID_ARGUMENT && e.reason === reason;
}

/** A 200×200 PNG of pseudo-random pixels (so it does not compress to a few bytes). */
async function noisyPng(): Promise<Buffer> {
  const pixels = Buffer.from(Array.from({ length: 200 * 200 * 3 }, (_, i) => (i * 7919) % 256));
  return sharp(pixels, { raw: { width: 200, height: 200, channels: 3 } })
    .png()
    .toBuffer();
}

/** A PNG whose header claims `width`×`height` (CRCs valid), with a tiny IDAT. */
function pngHeader(width: number, height: number): Uint8Array {
  const crc32 = (buf: Buffer) => {
    let crc = 0xffffffff;
    for (const byte of buf) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(Buffer.alloc(16))),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

describe('decodeImage()', () => {
  it('decodes PNG, JPEG and WebP to RGB bytes', async () => {
    const base = sharp({ create: { width: 4, height: 3, channels: 3, background: { r: 200, g: 30, b: 90 } } });
    for (const bytes of [
      await base.clone().png().toBuffer(),
      await base.clone().jpeg({ quality: 100 }).toBuffer(),
      await base.clone().webp({ lossless: true }).toBuffer(),
    ]) {
      const image = await decodeImage(new Uint8Array(bytes), limits);
      assert.equal(image.width, 4);
      assert.equal(image.height, 3);
      assert.equal(image.data.length, 4 * 3 * 3);
      for (let i = 0; i < 12; i++) {
        const [r, g, b] = image.data.subarray(i * 3, i * 3 + 3);
        assert.ok(
          Math.abs((r as number) - 200) <= 3 && Math.abs((g as number) - 30) <= 3 && Math.abs((b as number) - 90) <= 3,
        );
      }
    }
  });

  it('flattens transparency onto white', async () => {
    const bytes = await sharp({
      create: { width: 2, height: 2, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const image = await decodeImage(new Uint8Array(bytes), limits);
    assert.deepEqual([...image.data], new Array(12).fill(255));
  });

  it('applies the EXIF orientation', async () => {
    // Stored 4 wide × 2 high, orientation 6 (rotate 90° clockwise to display): decoded 2 × 4.
    const bytes = await sharp({ create: { width: 4, height: 2, channels: 3, background: '#000000' } })
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    const image = await decodeImage(new Uint8Array(bytes), limits);
    assert.deepEqual([image.width, image.height], [2, 4]);
  });

  it('throws IMAGE_UNDECODABLE for a truncated PNG and a truncated JPEG', async () => {
    const png = await noisyPng();
    await assert.rejects(
      decodeImage(new Uint8Array(png.subarray(0, png.length / 2)), limits),
      rejectsWith('IMAGE_UNDECODABLE'),
    );
    await assert.rejects(
      decodeImage(new Uint8Array(png.subarray(0, png.length - 20)), limits),
      rejectsWith('IMAGE_UNDECODABLE'),
    );
    const jpeg = await sharp(png).jpeg().toBuffer();
    await assert.rejects(
      decodeImage(new Uint8Array(jpeg.subarray(0, jpeg.length / 2)), limits),
      rejectsWith('IMAGE_UNDECODABLE'),
    );
  });

  it('throws IMAGE_UNDECODABLE for bytes that are no image', async () => {
    const garbage = new TextEncoder().encode('definitely not an image, just some text');
    await assert.rejects(decodeImage(garbage, limits), rejectsWith('IMAGE_UNDECODABLE'));
  });

  it('throws IMAGE_UNDECODABLE for formats other than JPEG, PNG and WebP (SVG)', async () => {
    const svg = new TextEncoder().encode(
      '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>',
    );
    await assert.rejects(decodeImage(svg, limits), (e: { reason: string; message: string }) => {
      return e.reason === 'IMAGE_UNDECODABLE' && e.message.includes('svg');
    });
  });

  it('throws IMAGE_TOO_LARGE when the header claims more pixels than maxPixels, before decoding', async () => {
    await assert.rejects(decodeImage(pngHeader(100_000, 100_000), limits), rejectsWith('IMAGE_TOO_LARGE'));
    const png = await noisyPng();
    await assert.rejects(
      decodeImage(new Uint8Array(png), { ...limits, maxPixels: 200 * 200 - 1 }),
      rejectsWith('IMAGE_TOO_LARGE'),
    );
  });

  it('throws IMAGE_TOO_LARGE when the bytes exceed maxBytes', async () => {
    const png = await noisyPng();
    await assert.rejects(
      decodeImage(new Uint8Array(png), { ...limits, maxBytes: png.length - 1 }),
      rejectsWith('IMAGE_TOO_LARGE'),
    );
  });

  it('throws IMAGE_EMPTY for no bytes and for a zero-size image', async () => {
    await assert.rejects(decodeImage(new Uint8Array(0), limits), rejectsWith('IMAGE_EMPTY'));
    await assert.rejects(decodeImage(pngHeader(0, 10), limits), rejectsWith('IMAGE_EMPTY'));
  });

  it('rejects with the abort reason when the signal is aborted', async () => {
    const png = await noisyPng();
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(decodeImage(new Uint8Array(png), { ...limits, signal: controller.signal }), /stop/);
  });
});
