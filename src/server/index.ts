/** The ADS server holding resources of any type, per view. */
export { ControlPlane, defaultView } from "./control-plane.js";
/** Its options, listen options and the requests it reports. */
export type { ControlPlaneOptions, ListenOptions, ListenTlsOptions, ReceivedRequest, StreamCredentials } from "./control-plane.js";
/** `rxds serve` as a library call: serves a mesh config file, hot-reloaded. */
export { serveMesh } from "./mesh-server.js";
/** A running `serveMesh` and its options. */
export type { MeshServer, MeshServerOptions } from "./mesh-server.js";
