// Reads CSDS (FetchClientStatus) from any process serving it: an rxds client with addCsdsService, grpc-js-xds with
// addAdminServicesToServer, grpc-go with its admin server.

import { create } from "@bufbuild/protobuf";
import { Client, credentials, type ServiceError } from "@grpc/grpc-js";
import { ClientStatusRequestSchema, type ClientStatusResponse } from "../../gen/envoy/service/status/v3/csds_pb.js";
import { csdsServiceDefinition } from "../integrations/grpc/csds-service.js";

/** The ClientStatusResponse of the process at `address` (`host:port`, plaintext); rejects naming the address and gRPC's error. */
export async function fetchClientStatus(address: string, timeoutMs: number): Promise<ClientStatusResponse> {
  const client = new Client(address, credentials.createInsecure());
  const method = csdsServiceDefinition.FetchClientStatus;
  try {
    return await new Promise<ClientStatusResponse>((resolve, reject) => {
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        create(ClientStatusRequestSchema),
        { deadline: Date.now() + timeoutMs },
        (error: ServiceError | null, response?: ClientStatusResponse) => {
          if (error !== null || response === undefined) reject(new Error(`cannot read CSDS from ${address}: ${error?.message ?? "no response"}`));
          else resolve(response);
        },
      );
    });
  } finally {
    client.close();
  }
}
