// gRPC status codes as rxds names and maps them, without depending on a copy of grpc-js: their names by code, and
// gRPC's mapping of an HTTP status to the gRPC status a client sees when a response carries no grpc-status
// (grpc/grpc doc/http-grpc-status-mapping.md), which gRFC A33 applies to `http_status` fault aborts and rxds
// to local rate limits: 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED,
// 429, 502, 503 and 504 UNAVAILABLE, any other UNKNOWN (200 included, as A33 says).

/** The gRPC status names, by code (0 OK … 16 UNAUTHENTICATED). */
export const GRPC_STATUS_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

/** A gRPC status name. */
export type GrpcStatusName = (typeof GRPC_STATUS_NAMES)[number];

/** The name of a gRPC status code; the number itself for a code gRPC does not define. */
export function statusName(status: number): string {
  return GRPC_STATUS_NAMES[status] ?? String(status);
}

const MAPPED: ReadonlyMap<number, number> = new Map([
  [400, 13],
  [401, 16],
  [403, 7],
  [404, 12],
  [429, 14],
  [502, 14],
  [503, 14],
  [504, 14],
]);

/** The gRPC status code a gRPC client reports for an HTTP response of `status` without grpc-status. */
export function grpcStatusOfHttp(status: number): number {
  return MAPPED.get(status) ?? 2;
}
