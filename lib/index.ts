// infonce: fused contrastive-loss kernels for Node.js.
export { contrastiveLoss, contrastiveLossSync, DEFAULT_LOG_SCALE } from './loss.js';
export { allocateFloat32 } from './memory.js';
export { isDeviceTensor, toDevice } from './device-tensor.js';
export { backendInfo } from './info.js';
export { ERROR_CODES, type ErrorCodeInfo, type InfonceErrorCode } from './error-codes.js';
export type { BackendInfo, CpuBackendInfo, CudaBackendInfo, CudaDeviceInfo } from './addon-types.js';
export type {
  ContrastiveLossOptions,
  ContrastiveLossResult,
  Backend,
  CpuIsa,
  Device,
  DeviceTensor,
  DeviceTensorOptions,
  Dtype,
  CudaMainLoop,
  GpuSchedule,
  Matrix,
  MatryoshkaOptions,
  Precision,
  PrefixResult,
} from './types.js';
export { Encoder } from './encoder/registry.js';
export { StaticEncoder, type StaticConfig, type StaticFormat } from './encoder/static.js';
export type { EncoderConfig, EncoderLoader, Gradient, Parameter } from './encoder/encoder.js';
export { BagEncoder, type BagConfig, type BagOptions } from './encoder/bag.js';
export { search, type SearchOptions, type SearchResult } from './search.js';
export { train, TrainingAborted, type TrainOptions, type StepRecord } from './train/trainer.js';
export { pairGroups, type PairGroups } from './train/pair-groups.js';
export { readPairs, type Pair } from './train/pairs-file.js';
export { textPairs, passages } from './pairs/text.js';
export { corpusPairs, type CorpusDocument, type CorpusPairOptions } from './pairs/corpus.js';
export { readCorpusDocuments } from './pairs/corpus-files.js';
export { codePairs, javascriptFunctions, pythonFunctions, functionsOf, type CodeFunction } from './pairs/code.js';
export { evaluate, formatEval, type EvalResult } from './eval/run.js';
export { Bm25Index, BM25_DEFAULTS, EVAL_BM25, type Bm25Hits, type Bm25Parameters } from './eval/bm25.js';
export { fuseRankings, crossFit, RRF_K, type FusedHit } from './eval/hybrid.js';
export { scoreTask, type HybridModel, type Task, type Model, type SearchTask, type CodeSearchTask, type ClassificationTask, type SimilarityTask } from './eval/tasks.js';
export { encoderEmbedder, wordVectorEmbedder, type Embedder } from './eval/embedders.js';
export { readBeir, readLabelled, readPairsTask, readScoredPairs } from './eval/formats.js';
export { defaultSuite, suiteTrainingPairs } from './eval/suite.js';
export { retrievalScores, ndcg, recall, reciprocalRank, accuracy, macroF1, spearman } from './eval/metrics.js';
