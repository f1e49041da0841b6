import { expect } from "chai";
import { XdsError, type XdsErrorCode } from "../../src/xds-error.js";

/** Runs `fn`, asserts it throws an XdsError with `code`, and returns the error for further checks. */
export function thrown(fn: () => unknown, code: XdsErrorCode): XdsError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(XdsError);
    expect((error as XdsError).code).to.equal(code);
    return error as XdsError;
  }
  expect.fail("expected an XdsError");
}
