// Shared by the mesh config parser tests: a small ServiceEntry document and the error a text gives.
import { expect } from "chai";
import { parseMeshConfig } from "../../src/server/config/mesh-config.js";
import { XdsError } from "../../src/xds-error.js";

/** A ServiceEntry `reviews` in namespace bookinfo: one HTTP port 9080, one endpoint 10.0.0.1 labelled version v1 (7 lines). */
export const reviewsServiceEntry = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  ports: [{number: 9080, name: http, protocol: HTTP}]
  endpoints: [{address: 10.0.0.1, labels: {version: v1}}]
`;

/** Parses `text` as mesh.yaml, expecting an INVALID_CONFIG error, and returns its message. */
export function errorOf(text: string): string {
  try {
    parseMeshConfig(text, "mesh.yaml");
  } catch (error) {
    expect(error).to.be.instanceOf(XdsError);
    expect((error as XdsError).code).to.equal("INVALID_CONFIG");
    return (error as XdsError).message;
  }
  return expect.fail("expected parseMeshConfig to throw");
}
