// Host memory the addon owns, for inputs too large to copy: see allocateFloat32.
import { addon } from './native.js';
import { invalidType, outOfRange } from './util/errors.js';

/**
 * A zeroed Float32Array of `length` floats in memory the native addon owns. {@link contrastiveLoss}
 * reads such an array in place instead of copying it (its peak memory is lower by the inputs' size:
 * 384 MiB at M = 65,536, D = 768), and a call keeps the memory alive while it reads it, whatever
 * happens to the array (a transfer, a BYOB read). Writing into it after the call is made and before
 * its promise settles makes the call reject (a RangeError naming `x` or `y`) instead of returning the
 * loss of changed inputs; a subarray of it is read in place too. Plain Float32Arrays are copied, and
 * may be changed at once.
 */
export function allocateFloat32(length: number): Float32Array {
  if (typeof length !== 'number') throw invalidType(`length: expected an integer, got ${typeof length}`);
  if (!Number.isSafeInteger(length) || length < 1 || length > 2 ** 32)
    throw outOfRange(`length: expected an integer from 1 to 2^32, got ${length}`);
  return addon.newTable(length);
}
