// CSDS (gRFC A40): envoy.service.status.v3.ClientStatusDiscoveryService on an application's grpc-js server, dumping
// what its XdsClients hold as grpc-go and grpc-js-xds dump theirs: one ClientConfig per client (its node and one
// GenericXdsConfig per watched resource: type, name, accepted version, the resource itself, when it was accepted,
// REQUESTED / ACKED / NACKED / DOES_NOT_EXIST, and the error state). The error state carries a NACK (reason, rejected
// version, when) and, for a resource that has nothing yet, gRFC A88's connection error (reason and when, no version).

//
// CSDS's generated types (and the admin types they import) are loaded on first use, not when rxds/grpc is imported:
// most processes never serve CSDS, and loading them would add ~25 ms to every start.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type * as ConfigDumpShared from "../../../gen/envoy/admin/v3/config_dump_shared_pb.js";
import type * as Csds from "../../../gen/envoy/service/status/v3/csds_pb.js";
import type { ClientConfig, ClientStatusRequest, ClientStatusResponse } from "../../../gen/envoy/service/status/v3/csds_pb.js";
import type { ResourceDump, ResourceState, XdsDump } from "../../client/xds-status.js";
import type { XdsClient } from "../../xds-client.js";
import { generated } from "../../lazy-schema.js";
import { XdsError } from "../../xds-error.js";

const servicePath = "/envoy.service.status.v3.ClientStatusDiscoveryService";
const invalidArgument = 3; // grpc.status.INVALID_ARGUMENT, the same in every copy of grpc-js

const configDumpShared = generated<typeof ConfigDumpShared>("envoy/admin/v3/config_dump_shared");
const csds = generated<typeof Csds>("envoy/service/status/v3/csds");
let generatedModules: (typeof Csds & typeof ConfigDumpShared) | undefined;

/** The generated CSDS and admin types, loaded on first use. */
function gen(): typeof Csds & typeof ConfigDumpShared {
  return (generatedModules ??= { ...configDumpShared(), ...csds() });
}

const serializeRequest = (request: ClientStatusRequest) => Buffer.from(toBinary(gen().ClientStatusRequestSchema, request));
const deserializeRequest = (bytes: Buffer): ClientStatusRequest => fromBinary(gen().ClientStatusRequestSchema, bytes);
const serializeResponse = (response: ClientStatusResponse) => Buffer.from(toBinary(gen().ClientStatusResponseSchema, response));
const deserializeResponse = (bytes: Buffer): ClientStatusResponse => fromBinary(gen().ClientStatusResponseSchema, bytes);

/** The grpc-js service definition of CSDS, for servers and clients of any copy of @grpc/grpc-js. */
export const csdsServiceDefinition = {
  FetchClientStatus: {
    path: `${servicePath}/FetchClientStatus`,
    requestStream: false,
    responseStream: false,
    requestSerialize: serializeRequest,
    requestDeserialize: deserializeRequest,
    responseSerialize: serializeResponse,
    responseDeserialize: deserializeResponse,
  },
  StreamClientStatus: {
    path: `${servicePath}/StreamClientStatus`,
    requestStream: true,
    responseStream: true,
    requestSerialize: serializeRequest,
    requestDeserialize: deserializeRequest,
    responseSerialize: serializeResponse,
    responseDeserialize: deserializeResponse,
  },
} as const;

/** The part of a grpc-js Server that addCsdsService uses, so that a server of any copy of grpc-js fits. */
export interface CsdsServer {
  addService(service: typeof csdsServiceDefinition, implementation: CsdsImplementation): void;
}

/** A grpc-js error as a service callback takes it. */
export interface CallError {
  readonly code: number;
  readonly details: string;
}

/** The handlers of the service, typed for what they use of grpc-js's call objects (a type literal, to fit grpc-js's index signature). */
export type CsdsImplementation = {
  FetchClientStatus(call: { readonly request: ClientStatusRequest }, callback: (error: CallError | null, response?: ClientStatusResponse) => void): void;
  StreamClientStatus(call: {
    on(event: "data", listener: (request: ClientStatusRequest) => void): unknown;
    on(event: "end", listener: () => void): unknown;
    write(response: ClientStatusResponse): unknown;
    end(): void;
    emit(event: "error", error: CallError): unknown;
  }): void;
};

/**
 * Adds CSDS (envoy.service.status.v3.ClientStatusDiscoveryService, gRFC A40) to a grpc-js server: each request is
 * answered with a ClientConfig per client given (closed ones are left out), as grpc-go and grpc-js-xds answer it.
 * Requests with node_matchers fail INVALID_ARGUMENT, as theirs do; `exclude_resource_contents` leaves the resources out.
 */
export function addCsdsService(server: CsdsServer, clients: XdsClient | readonly XdsClient[]): void {
  if (typeof server?.addService !== "function") throw new XdsError("INVALID_ARGUMENT", "addCsdsService: server: expected a grpc-js Server");
  const list: readonly XdsClient[] = Array.isArray(clients) ? clients : [clients as XdsClient];
  list.forEach((client, i) => {
    if (typeof client?.dump !== "function") throw new XdsError("INVALID_ARGUMENT", `addCsdsService: clients[${i}]: expected an XdsClient`);
  });
  const answer = (request: ClientStatusRequest): ClientStatusResponse | CallError => {
    if (request.nodeMatchers.length > 0) return { code: invalidArgument, details: "CSDS: node_matchers are not supported" };
    const config = list.filter((client) => !client.isClosed).map((client) => clientConfigOf(client.dump(), request.excludeResourceContents));
    return create(gen().ClientStatusResponseSchema, { config });
  };
  server.addService(csdsServiceDefinition, {
    FetchClientStatus(call, callback) {
      const response = answer(call.request);
      if ("code" in response) callback(response);
      else callback(null, response);
    },
    StreamClientStatus(call) {
      call.on("data", (request) => {
        const response = answer(request);
        if ("code" in response) call.emit("error", response);
        else call.write(response);
      });
      call.on("end", () => call.end());
    },
  });
}

/** CSDS's ClientResourceStatus of a resource state. */
function clientStatus(state: ResourceState): ConfigDumpShared.ClientResourceStatus {
  return gen().ClientResourceStatus[state];
}

/** One client's dump as a CSDS ClientConfig; without the resources' bytes when `excludeContents`. */
export function clientConfigOf(dump: XdsDump, excludeContents = false): ClientConfig {
  return create(gen().ClientConfigSchema, {
    node: dump.node,
    genericXdsConfigs: dump.resources.map((resource) => genericXdsConfigOf(resource, excludeContents)),
  });
}

function genericXdsConfigOf(resource: ResourceDump, excludeContents: boolean) {
  const { raw } = resource;
  return create(gen().ClientConfig_GenericXdsConfigSchema, {
    typeUrl: resource.typeUrl,
    name: resource.name,
    versionInfo: resource.version,
    ...(raw === undefined || excludeContents ? {} : { xdsConfig: { typeUrl: resource.typeUrl, value: raw } }),
    lastUpdated: timestampFromDate(resource.acceptedAt ?? resource.updatedAt),
    clientStatus: clientStatus(resource.state),
    ...errorStateOf(resource),
  });
}

/** A NACK (reason, rejected version, when), or gRFC A88's error of a resource with nothing yet (reason, when). */
function errorStateOf(resource: ResourceDump) {
  const lastUpdateAttempt = timestampFromDate(resource.updatedAt);
  if (resource.state === "NACKED") {
    return { errorState: create(gen().UpdateFailureStateSchema, { details: resource.reason ?? "", versionInfo: resource.rejectedVersion ?? "", lastUpdateAttempt }) };
  }
  if (resource.error !== undefined) return { errorState: create(gen().UpdateFailureStateSchema, { details: resource.error, lastUpdateAttempt }) };
  return {};
}
