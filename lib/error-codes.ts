// Every `code` an infonce error can carry, in one list: the native core's (native/errors.cpp), the
// bindings' (bindings/errors.h) and the TypeScript layer's. The addon reports the first two
// (addon.errorCodes), the tests hold the sources and the README's error table to this list, and a
// caller branches on `err.code` with the type.

export interface ErrorCodeInfo {
  /** The class of the error thrown or rejected with. */
  error: 'TypeError' | 'RangeError' | 'Error';
  /** Which layer gives it. */
  from: 'native' | 'bindings' | 'lib';
  /** When. */
  meaning: string;
}

export const ERROR_CODES = {
  ERR_INVALID_ARG_TYPE: { error: 'TypeError', from: 'bindings', meaning: 'an argument or option of the wrong type' },
  ERR_OUT_OF_RANGE: {
    error: 'RangeError',
    from: 'bindings',
    meaning: 'an argument of the right type but the wrong length, shape or range, found before any work starts',
  },
  ERR_INVALID_ARG_VALUE: {
    error: 'RangeError',
    from: 'native',
    meaning: 'a value the kernels refuse as they read it: a NaN or infinity in the inputs, duplicate targets, an option the chosen backend cannot honour',
  },
  ERR_OUT_OF_MEMORY: { error: 'Error', from: 'native', meaning: 'a host allocation failed' },
  ERR_CUDA_NOT_BUILT: { error: 'Error', from: 'native', meaning: 'this installation has no CUDA backend (the message says what to install)' },
  ERR_CUDA_UNAVAILABLE: { error: 'Error', from: 'native', meaning: 'the CUDA backend is there but could not be loaded, or belongs to another version' },
  ERR_CUDA_NO_DEVICE: { error: 'Error', from: 'native', meaning: 'no NVIDIA driver, a driver too old for CUDA 13, or no GPU' },
  ERR_CUDA_OOM: { error: 'Error', from: 'native', meaning: 'a GPU allocation failed' },
  ERR_CUDA_LAUNCH: { error: 'Error', from: 'native', meaning: 'a kernel launch or another CUDA call failed' },
  ERR_MPI_UNAVAILABLE: {
    error: 'Error',
    from: 'native',
    meaning: 'the distributed loss found no MPI: the MPI backend is not built, or MPI could not be loaded or started (the message says what to install)',
  },
  ERR_MPI: { error: 'Error', from: 'native', meaning: 'a collective of the distributed loss failed, or the ranks disagree on a call (every rank says which)' },
  ERR_NCCL_UNAVAILABLE: {
    error: 'Error',
    from: 'native',
    meaning: 'an NCCL communicator was asked for and NCCL (libnccl.so.2, 2.12 or newer) could not be loaded (the message says where to find it)',
  },
  ERR_NCCL: { error: 'Error', from: 'native', meaning: "an NCCL call failed: the communicator's start, or a collective of a sharded GPU loss" },
  ERR_INTERNAL: { error: 'Error', from: 'native', meaning: 'a bug of ours: please report it with the message' },
  ERR_TENSOR_DISPOSED: { error: 'Error', from: 'bindings', meaning: 'a DeviceTensor used after dispose()' },
  ERR_TENSOR_IN_USE: { error: 'Error', from: 'bindings', meaning: 'a DeviceTensor disposed while a call still reads it' },
  ERR_INVALID_FILE: { error: 'RangeError', from: 'lib', meaning: 'a model, checkpoint or data file that is not what it should be (the file and the place are named)' },
  ERR_NOT_REGULAR_FILE: { error: 'RangeError', from: 'lib', meaning: 'a FIFO, a device or another special file given where a file is read' },
  ERR_MISSING_PACKAGES: { error: 'Error', from: 'lib', meaning: 'an optional package a command needs is not installed, or is a version it cannot use (the message says what to install)' },
} as const satisfies Record<string, ErrorCodeInfo>;

/** The `code` of an error infonce throws or rejects with. */
export type InfonceErrorCode = keyof typeof ERROR_CODES;
