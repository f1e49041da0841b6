// rxjs's index loads every operator and creator rxjs has (about 220 modules under Node, where `import "rxjs"` runs its
// CommonJS build): tens of milliseconds of every process's start. rxds uses a few dozen; this module loads just those,
// from the `rxjs/internal/*` files that rxjs's package exports and its index re-exports, so each class is the very one
// `import "rxjs"` gives (`instanceof` agrees with the application's rxjs). Everything in src/ takes rxjs's values from
// here and its types from rxjs itself (`import type { Observable } from "rxjs"`, erased at run time), so that the
// public types are the rxjs peer's own; a file that needs a class both ways imports the value as `<Name>Class`.

import { createRequire } from "node:module";
import type * as Rx from "rxjs";

const require = createRequire(import.meta.url);
const load = <K extends keyof typeof Rx>(file: string, name: K): (typeof Rx)[K] => (require(`rxjs/internal/${file}`) as typeof Rx)[name];

// Classes.
export const Observable = load("Observable", "Observable");
export const Subject = load("Subject", "Subject");
export const BehaviorSubject = load("BehaviorSubject", "BehaviorSubject");
export const ReplaySubject = load("ReplaySubject", "ReplaySubject");
export const Subscriber = load("Subscriber", "Subscriber");

// Schedulers and promises.
export const asapScheduler = load("scheduler/asap", "asapScheduler");
export const asyncScheduler = load("scheduler/async", "asyncScheduler");
export const firstValueFrom = load("firstValueFrom", "firstValueFrom");

// Creators.
export const combineLatest = load("observable/combineLatest", "combineLatest");
export const defer = load("observable/defer", "defer");
export const from = load("observable/from", "from");
export const fromEvent = load("observable/fromEvent", "fromEvent");
export const of = load("observable/of", "of");
export const timer = load("observable/timer", "timer");

// Operators.
export const catchError = load("operators/catchError", "catchError");
export const debounceTime = load("operators/debounceTime", "debounceTime");
export const distinctUntilChanged = load("operators/distinctUntilChanged", "distinctUntilChanged");
export const endWith = load("operators/endWith", "endWith");
export const filter = load("operators/filter", "filter");
export const finalize = load("operators/finalize", "finalize");
export const first = load("operators/first", "first");
export const map = load("operators/map", "map");
export const repeat = load("operators/repeat", "repeat");
export const retry = load("operators/retry", "retry");
export const share = load("operators/share", "share");
export const shareReplay = load("operators/shareReplay", "shareReplay");
export const skip = load("operators/skip", "skip");
export const startWith = load("operators/startWith", "startWith");
export const switchMap = load("operators/switchMap", "switchMap");
export const take = load("operators/take", "take");
export const takeUntil = load("operators/takeUntil", "takeUntil");
export const tap = load("operators/tap", "tap");
export const timeout = load("operators/timeout", "timeout");
