// Sums the gradients of a step's micro-batches. Dense parameters add up in full; sparse ones (the
// embedding tables) add into a buffer of the table's shape, remembering which rows were touched, so
// that collecting and clearing cost the touched rows only, never the whole vocabulary.
import type { Gradient, Parameter } from '../encoder/encoder.js';
import { addon } from '../native.js';

interface Slot {
  parameter: Parameter;
  buffer: Float32Array;
  touched: Uint8Array | null; // null: dense
  dirty: boolean;
}

export class GradientAccumulator {
  private readonly slots = new Map<string, Slot>();

  constructor(parameters: Parameter[]) {
    for (const p of parameters)
      this.slots.set(p.name, { parameter: p, buffer: new Float32Array(p.data.length), touched: null, dirty: false });
  }

  add(gradients: Gradient[]): void {
    for (const g of gradients) {
      const slot = this.slots.get(g.name);
      if (!slot) throw new Error(`no parameter named ${g.name}`);
      addon.addRows(slot.buffer, slot.parameter.width, g.rows, g.grads);
      slot.dirty = true;
      if (g.rows) {
        slot.touched ??= new Uint8Array(slot.buffer.length / slot.parameter.width);
        for (const r of g.rows) slot.touched[r] = 1;
      }
    }
  }

  /** The summed gradients: sparse ones as their touched rows (ascending). */
  collect(): Gradient[] {
    const out: Gradient[] = [];
    for (const [name, slot] of this.slots) {
      if (!slot.dirty) continue;
      if (slot.touched) {
        const rows = Int32Array.from(rowsOf(slot.touched));
        out.push({ name, rows, grads: addon.takeRows(slot.buffer, slot.parameter.width, rows) });
      } else {
        out.push({ name, rows: null, grads: slot.buffer.slice() });
      }
    }
    return out;
  }

  reset(): void {
    for (const slot of this.slots.values()) {
      if (!slot.dirty) continue;
      if (slot.touched) {
        const rows = Int32Array.from(rowsOf(slot.touched));
        addon.zeroRows(slot.buffer, slot.parameter.width, rows);
        slot.touched.fill(0);
      } else {
        slot.buffer.fill(0);
      }
      slot.dirty = false;
    }
  }
}

function* rowsOf(touched: Uint8Array): Generator<number> {
  for (let r = 0; r < touched.length; r++) if (touched[r]) yield r;
}
