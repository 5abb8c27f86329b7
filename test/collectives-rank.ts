// One rank of the collectives' test (test/data-parallel.test.ts), under `mpirun -np W`: all-gathers of
// every element type and of lengths that differ by rank (one empty), a broadcast from the last rank, a
// barrier, and calls that ranks make differently, which must fail on every rank alike. Prints one JSON
// line: its rank and the checks that failed (none when all held).
import { mpiCommunicator } from '../lib/distributed.js';

const comm = await mpiCommunicator();
const { rank, size } = comm;
const failures: string[] = [];
const expect = (ok: boolean, what: string) => ok || failures.push(what);
const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (e: Error & { code?: string }) => e);

// Rank r sends r + 1 values r·10 + k (rank 1 sends nothing as Int32).
const doubles = await comm.allGather(Float64Array.from({ length: rank + 1 }, (_, k) => rank * 10 + k + 0.5));
expect(doubles.length === size, 'one Float64Array a rank');
doubles.forEach((d, r) => expect(d instanceof Float64Array && d.length === r + 1 && d.every((v, k) => v === r * 10 + k + 0.5), `doubles of rank ${r}`));
const ints = await comm.allGather(rank === 1 ? new Int32Array(0) : Int32Array.of(rank, -rank));
ints.forEach((d, r) => expect(d instanceof Int32Array && (r === 1 ? d.length === 0 : d[0] === r && d[1] === -r), `ints of rank ${r}`));
const bytes = await comm.allGather(new TextEncoder().encode(`rank ${rank}`));
bytes.forEach((d, r) => expect(new TextDecoder().decode(d) === `rank ${r}`, `bytes of rank ${r}`));
// A view into a larger buffer sends only its own elements.
const big = Float32Array.from({ length: 10 }, (_, k) => k + rank);
const views = await comm.allGather(big.subarray(2, 5));
views.forEach((d, r) => expect(d.length === 3 && d[0] === 2 + r && d[2] === 4 + r, `a subarray of rank ${r}`));

const shared = rank === size - 1 ? Float32Array.of(1.5, -2, 3e-30) : new Float32Array(3);
await comm.broadcast(shared, size - 1);
expect(shared[0] === 1.5 && shared[1] === -2 && shared[2] === Math.fround(3e-30), 'broadcast from the last rank');
await comm.barrier();

// Different calls on different ranks: every rank rejects, none hangs.
const mixed = await rejection(comm.allGather(rank === 0 ? new Float32Array(2) : new Int32Array(2)));
expect(mixed?.code === 'ERR_MPI' && /rank 1 passed another element type than rank 0/.test(mixed.message), `mixed types: ${mixed?.message}`);
const lengths = await rejection(comm.broadcast(new Float32Array(rank === 0 ? 4 : 5), 0));
expect(lengths?.code === 'ERR_MPI' && /broadcast: rank 1 has 20 bytes to receive, rank 0 sends 16/.test(lengths.message), `broadcast lengths: ${lengths?.message}`);
const root = await rejection(comm.broadcast(new Float32Array(1), size));
expect(root?.code === 'ERR_INVALID_ARG_VALUE' && /root: expected a rank in \[0, \d+\), got \d+/.test(root.message), `root out of range: ${root?.message}`);
const roots = await rejection(comm.broadcast(new Float32Array(1), rank === 1 ? 0 : 1));
expect(roots?.code === 'ERR_MPI' && /broadcast: rank 1 names root 0, rank 0 root 1/.test(roots.message), `other roots: ${roots?.message}`);
const plain = await rejection(comm.allGather([1, 2] as unknown as Float32Array));
expect(plain instanceof TypeError && /allGather: expected a Float32Array, Float64Array, Int32Array or Uint8Array/.test(plain.message), `a plain array: ${plain?.message}`);
// The world still works after the failures.
const after = await comm.allGather(Int32Array.of(rank));
expect(after.every((d, r) => d[0] === r), 'a collective after the failures');

console.log(JSON.stringify({ rank, failures }));
comm.close();
