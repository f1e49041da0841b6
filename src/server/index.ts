/** The ADS server holding resources of any type, per view. */
export { ControlPlane, defaultView } from "./control-plane.js";
/** Its options, listen options and the requests it reports. */
export type { ControlPlaneOptions, ListenOptions, ListenTlsOptions, ReceivedRequest, StreamCredentials } from "./control-plane.js";
/** `rxds serve` as a library call: serves mesh config sources, hot-reloaded. */
export { serveMesh } from "./mesh-server.js";
/** `rxds serve --print` as a library call: what a node would be served. */
export { dumpMesh } from "./mesh-server.js";
/** The Node a `--node` option describes (id, `KEY=VALUE` metadata or JSON). */
export { nodeFromSpecs } from "./mesh-view.js";
/** A running `serveMesh` and its options. */
export type { MeshServer, MeshServerOptions } from "./mesh-server.js";
