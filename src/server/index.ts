export { ControlPlane } from "./control-plane.js";
export type { ControlPlaneOptions, ListenOptions, ReceivedRequest } from "./control-plane.js";
