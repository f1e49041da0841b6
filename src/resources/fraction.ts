// Envoy's FractionalPercent (a numerator over 100, 10,000 or 1,000,000) as a model, and the one way a call is
// drawn against it: floor(random() × denominator) < numerator, with each draw its own random number.

import { FractionalPercent_DenominatorType, type FractionalPercent } from "../../gen/envoy/type/v3/percent_pb.js";
import type { Reject } from "./field-error.js";

/** A fraction of calls: `numerator` out of `denominator` (100, 10,000 or 1,000,000); above 1 counts as 1. */
export interface FractionModel {
  readonly numerator: number;
  readonly denominator: number;
}

const DENOMINATORS: ReadonlyMap<FractionalPercent_DenominatorType, number> = new Map([
  [FractionalPercent_DenominatorType.HUNDRED, 100],
  [FractionalPercent_DenominatorType.TEN_THOUSAND, 10_000],
  [FractionalPercent_DenominatorType.MILLION, 1_000_000],
]);

/** The number a FractionalPercent denominator stands for; undefined for a value the enum does not define. */
export function denominatorOf(type: FractionalPercent_DenominatorType): number | undefined {
  return DENOMINATORS.get(type);
}

/** Reads a FractionalPercent found at `path`; `fallback` when unset; rejects an unknown denominator. */
export function buildFraction(value: FractionalPercent | undefined, path: string, reject: Reject, fallback: FractionModel): FractionModel {
  if (value === undefined) return fallback;
  const denominator = denominatorOf(value.denominator);
  if (denominator === undefined) return reject(`${path}.denominator`, `unknown value ${value.denominator}`);
  return Object.freeze({ numerator: value.numerator, denominator });
}

/** No call. */
export const NO_CALL: FractionModel = Object.freeze({ numerator: 0, denominator: 100 });

/** Whether a call drawn with `random` falls within `fraction`. */
export function drawn(fraction: FractionModel, random: () => number): boolean {
  return Math.floor(random() * fraction.denominator) < fraction.numerator;
}
