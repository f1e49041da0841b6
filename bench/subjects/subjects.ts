import { grpcJsXdsSubject } from "./grpc-js-xds-subject.js";
import { rxdsSubject } from "./rxds-subject.js";
import type { XdsSubject } from "./xds-subject.js";

/** Every library the bench measures, in the order of the table's columns; the first is the one ratios are taken of. */
export const subjects: readonly XdsSubject[] = [rxdsSubject, grpcJsXdsSubject];
