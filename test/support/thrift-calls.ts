// What the rxds/thrift tests share: the target they dial, the sidecar node, a request, and how a call failed.
import { expect } from "chai";
import { XdsError } from "rxds";
import { HelloRequest } from "../../gen/thrift/proxyless/index.js";
import { kitexHost } from "./mesh.js";

/** The kitex service's target. */
export const thriftTarget = `${kitexHost}:8888`;

/** A sidecar-mode client node (no GENERATOR=grpc) in namespace default: the listener is `10.96.73.130_8888`, found through NDS. */
export const sidecarNode = { id: "sidecar~127.0.0.1~client.default~default.svc.cluster.local", metadata: {} };

/** A SayHello request. */
export function hello(message = "hi"): HelloRequest {
  return new HelloRequest({ Message: message });
}

/** The XdsError a call rejects with; fails the test when the call succeeds or rejects with something else. */
export async function failure(call: Promise<unknown>): Promise<XdsError> {
  const error: unknown = await call.then(
    () => expect.fail("the call succeeded"),
    (reason: unknown) => reason,
  );
  expect(error).to.be.instanceOf(XdsError);
  return error as XdsError;
}
