import type { Socket } from "node:net";
import { Agent, buildConnector, type Dispatcher, EnvHttpProxyAgent } from "undici";
import type { ProxySettings } from "../../settings/models.js";

const READ_BUFFER_BYTES = 64 * 1024;
const RING_SIZE = 8;
/** Reads shorter than this are copied out instead of lent (see `reusedReadBuffers`). */
const COPY_BELOW_BYTES = 16 * 1024;

/**
 * An undici Agent whose sockets read into a ring of reused 64 KiB buffers (the `onread` option of
 * `net.connect` and `tls.connect`) instead of a freshly allocated buffer for every read. Allocating
 * and collecting those buffers was most of a download's CPU (docs/architecture/07-models.md; the download
 * section of docs/benchmarks.md has the before and after).
 *
 * The price: a body chunk is a view of a ring buffer that a later read overwrites, so it is only
 * valid during the handler call that receives it. `streamedGet` consumes every chunk synchronously.
 */
export function createDownloadAgent(connect: buildConnector.BuildOptions = {}): Agent {
  return new Agent({
    // One connector per connection: each socket needs a ring of its own.
    connect: (options, callback) =>
      buildConnector({ ...connect, onread: reusedReadBuffers() } as buildConnector.BuildOptions)(
        options,
        callback,
      ),
  });
}

let direct: Agent | undefined;
const proxies = new Map<string, Dispatcher>();

/**
 * The dispatcher model downloads use: through the proxy when the settings name one (undici's
 * EnvHttpProxyAgent rules), else the Agent with reused read buffers.
 */
export function downloadAgent(proxy?: ProxySettings): Dispatcher {
  const through = proxyDispatcher(proxy);
  if (through !== undefined) return through;
  direct ??= createDownloadAgent();
  return direct;
}

/** A dispatcher through the proxy, or undefined without one. */
export function proxyDispatcher(proxy: ProxySettings | undefined): Dispatcher | undefined {
  if (proxy === undefined) return undefined;
  const { httpProxy, httpsProxy, noProxy } = proxy;
  const key = JSON.stringify([httpProxy, httpsProxy, noProxy]);
  let agent = proxies.get(key);
  if (agent === undefined) {
    // Empty strings, not undefined: undefined would make undici read the environment itself.
    agent = new EnvHttpProxyAgent({ httpProxy: httpProxy ?? "", httpsProxy: httpsProxy ?? "", noProxy });
    proxies.set(key, agent);
  }
  return agent;
}

/**
 * A lent buffer can still be referenced after its read callback returns in two places: the
 * socket's read queue, which push()'s backpressure bounds to its high-water mark plus one read;
 * and undici's parser, which keeps views of an incomplete header block (at most `maxHeaderSize`,
 * 16 KiB) until it ends. Reads under 16 KiB are copied, so the ring only advances on reads of
 * 16 KiB or more, and a header block spans at most two of those: eight buffers are never
 * overwritten while referenced.
 */
function reusedReadBuffers() {
  const ring = Array.from({ length: RING_SIZE }, () => Buffer.allocUnsafe(READ_BUFFER_BYTES));
  let index = 0;
  let lent = false;
  return {
    buffer: (): Buffer => {
      if (lent) {
        index = (index + 1) % RING_SIZE;
        lent = false;
      }
      return ring[index] as Buffer;
    },
    callback(this: Socket, bytes: number, buffer: Buffer): boolean {
      if (bytes < COPY_BELOW_BYTES) return this.push(Buffer.from(buffer.subarray(0, bytes)));
      lent = true;
      return this.push(buffer.subarray(0, bytes));
    },
  };
}

/** Words for network errors: who could not be reached when a proxy stands in between. */
export function viaProxy(dispatcher: Dispatcher | undefined): string {
  return dispatcher instanceof EnvHttpProxyAgent
    ? " (through the proxy that HTTP_PROXY or HTTPS_PROXY names)"
    : "";
}
