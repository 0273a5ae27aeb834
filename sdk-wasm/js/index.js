// The package's entry: loads the wasm tracker and queues calls made before it is ready.
import load, * as wasm from "./shopstream_sdk.js";

const pending = [];
let loaded = false;
let ready;

/** Loads the tracker and configures it; resolves when ready, rejects on invalid options. */
export function init(options) {
  if (!ready) {
    ready = load({ module_or_path: new URL("./shopstream_sdk_bg.wasm", import.meta.url) }).then(() => {
      wasm.init(options);
      loaded = true;
      for (const [name, args] of pending.splice(0)) wasm[name](...args);
    });
  }
  return ready;
}

/** Queues an event of a schema type (`"product_view"`, ...). Never throws. */
export function track(type, properties) {
  if (loaded) wasm.track(type, properties);
  else pending.push(["track", [type, properties]]);
}

/** Sends everything queued now; resolves once the server has answered. */
export async function flush() {
  if (ready) await ready;
  if (loaded) return wasm.flush();
}
