/**
 * Where a Ferry peer listens or connects, parsed from its URI form by {@link parseAddress} and written back
 * by {@link formatAddress}.
 */
export type Address =
  /** `unix:///abs/path` or `unix:rel/path` (a relative path stays relative to the working directory). */
  | { readonly scheme: 'unix'; readonly path: string }
  /** `tcp://127.0.0.1:5000`, `tcp://[::1]:5000`, `tcp://localhost:0`. */
  | { readonly scheme: 'tcp'; readonly host: string; readonly port: number }
  /** `vsock://2:2048`: context id and port, both u32. */
  | { readonly scheme: 'vsock'; readonly cid: number; readonly port: number }
  /** `local:`: in process, no agent; wired where the host packages are installed. */
  | { readonly scheme: 'local' }
  /** `memory:name`: a listener of an in-process {@link MemoryNetwork} (tests). */
  | { readonly scheme: 'memory'; readonly name: string };

export type AddressScheme = Address['scheme'];
