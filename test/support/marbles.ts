// A TestScheduler for marble tests whose values are compared with chai's deep equality.
import { expect } from "chai";
import { TestScheduler } from "rxjs/testing";

/** A fresh TestScheduler asserting with chai's deep equality. */
export function marbleScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}
