/**
 * The program in the URL, so a link shares it: `#z=` + base64url of the UTF-8 text compressed
 * with deflate-raw (CompressionStream, in every current browser), or `#t=` + base64url of the
 * plain UTF-8 where CompressionStream is missing. Both forms are read back.
 */

function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function through(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

/** The URL hash (with its `#`) that holds `program`. */
export async function encodeProgram(program: string): Promise<string> {
  const utf8 = new TextEncoder().encode(program);
  if (typeof CompressionStream === "undefined") return `#t=${toBase64Url(utf8)}`;
  return `#z=${toBase64Url(await through(utf8, new CompressionStream("deflate-raw")))}`;
}

/** The program a URL hash holds; undefined for a hash without one or one that does not decode. */
export async function decodeProgram(hash: string): Promise<string | undefined> {
  const m = /^#([zt])=([A-Za-z0-9_-]*)$/.exec(hash);
  if (m === null) return undefined;
  try {
    const bytes = fromBase64Url(m[2]!);
    const utf8 = m[1] === "z" ? await through(bytes, new DecompressionStream("deflate-raw")) : bytes;
    return new TextDecoder("utf-8", { fatal: true }).decode(utf8);
  } catch {
    return undefined;
  }
}
