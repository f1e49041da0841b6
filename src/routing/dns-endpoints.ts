import { create } from "@bufbuild/protobuf";
import { lookup } from "node:dns/promises";
import type { Observable } from "rxjs";
import { catchError, distinctUntilChanged, from, map, of, switchMap, timer } from "../rx.js";
import { clusterLoadAssignmentSchema } from "../client/resource-schemas.js";
import { buildEndpoints, type EndpointsModel } from "../resources/endpoints.js";
import { fieldRejecter } from "../resources/field-error.js";

/** Resolves a host name to addresses; the platform's DNS (dns.lookup) by default. */
export type HostResolver = (host: string) => Promise<readonly string[]>;

/** The platform's resolver: every address dns.lookup finds (IPv4 and IPv6). */
export const platformResolver: HostResolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * The endpoints of a LOGICAL_DNS or STRICT_DNS cluster: resolved now and every `refreshMs`, emitting
 * when the address list changes. LOGICAL_DNS uses the first address, STRICT_DNS all of them. A failed
 * lookup keeps the last addresses (or emits undefined when there were none).
 */
export function dnsEndpoints(
  cluster: string,
  host: string,
  port: number,
  strict: boolean,
  resolver: HostResolver,
  refreshMs: number,
): Observable<EndpointsModel | undefined> {
  let last: readonly string[] | undefined;
  return timer(0, refreshMs).pipe(
    switchMap(() =>
      from(resolver(host)).pipe(
        map((addresses) => (last = strict ? addresses : addresses.slice(0, 1))),
        catchError(() => of(last)),
      ),
    ),
    distinctUntilChanged((a, b) => a === b || (a !== undefined && b !== undefined && a.join(",") === b.join(","))),
    map((addresses) => (addresses === undefined || addresses.length === 0 ? undefined : toEndpoints(cluster, addresses, port))),
  );
}

function toEndpoints(cluster: string, addresses: readonly string[], port: number): EndpointsModel {
  const cla = create(clusterLoadAssignmentSchema.schema(), {
    clusterName: cluster,
    endpoints: [
      {
        lbEndpoints: addresses.map((address) => ({
          hostIdentifier: {
            case: "endpoint" as const,
            value: { address: { address: { case: "socketAddress" as const, value: { address, portSpecifier: { case: "portValue" as const, value: port } } } } },
          },
        })),
      },
    ],
  });
  return buildEndpoints(cla, fieldRejecter("cluster", cluster), "dns");
}
