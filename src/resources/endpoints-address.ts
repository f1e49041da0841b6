import { isIP } from "node:net";
import type { Address, SocketAddress } from "../../gen/envoy/config/core/v3/address_pb.js";
import type { Reject } from "./field-error.js";

/** Addresses seen so far in one assignment: address → its port, or its ports once a second port shows up. */
export type SeenAddresses = Map<string, number | Set<number>>;

/**
 * Rejects a second use of the same address and port anywhere in the assignment (as gRPC does, gRFC A61). Keyed by
 * the address string itself (no per-endpoint key string to build), so that the check costs O(1) per endpoint.
 */
export function addUnique(seen: SeenAddresses, address: string, port: number, path: string, reject: Reject): void {
  const prior = seen.get(address);
  if (prior === undefined) {
    seen.set(address, port);
  } else if (typeof prior === "number") {
    if (prior === port) reject(path, `duplicate address ${address} port ${port}`);
    seen.set(address, new Set([prior, port]));
  } else {
    if (prior.has(port)) reject(path, `duplicate address ${address} port ${port}`);
    prior.add(port);
  }
}

/** Checks that an Address is a socket address with an IP literal and a port in 1..65535, and returns it. */
export function checkSocketAddress(address: Address | undefined, path: string, reject: Reject): SocketAddress {
  if (address === undefined) return reject(path, "is required");
  if (address.address.case !== "socketAddress") {
    return reject(path, `must be a socket_address, got ${address.address.case ?? "none"}`);
  }
  const socket = address.address.value;
  if (socket.resolverName !== "") reject(`${path}.socket_address.resolver_name`, "custom resolvers are not supported");
  const rejection = ipAddressRejection(socket.address);
  if (rejection !== undefined) reject(`${path}.socket_address.address`, rejection);
  checkPort(socket, `${path}.socket_address`, reject);
  return socket;
}

/**
 * Why an endpoint address is not one a client can dial directly (undefined when it is an IP literal). Shared with
 * `rxds serve`, which rejects at load the addresses clients would NACK.
 */
export function ipAddressRejection(address: string): string | undefined {
  return isIP(address) === 0 ? `must be an IPv4 or IPv6 address, got ${JSON.stringify(address)}` : undefined;
}

/** Checks that a SocketAddress has a port_value in 1..65535 (named ports are not supported). */
export function checkPort(socket: SocketAddress, path: string, reject: Reject): number {
  if (socket.portSpecifier.case !== "portValue") return reject(`${path}.port_value`, "is required (named ports are not supported)");
  const port = socket.portSpecifier.value;
  if (port < 1 || port > 65535) return reject(`${path}.port_value`, `must be in 1..65535, got ${port}`);
  return port;
}
