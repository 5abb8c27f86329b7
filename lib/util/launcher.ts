// What the launcher of a parallel job (mpirun, a PMI/PMIx launcher such as MPICH's or srun) tells a
// process through its environment: whether it is one of several ranks, how many, and its rank on
// its node (which GPU it should take).

/** Started by a launcher of MPI ranks: Open MPI's mpirun, a PMI/PMIx launcher, or srun (which MPI cannot join without a plug-in). */
export function launchedByMpi(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'PMI_RANK', 'PMIX_RANK'].some((name) => env[name] !== undefined) || Number(env.SLURM_STEP_NUM_TASKS) > 1;
}

/** How many tasks the launcher says it started, where it says so. */
export function launcherWorldSize(env: NodeJS.ProcessEnv = process.env): number | undefined {
  for (const name of ['OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'SLURM_STEP_NUM_TASKS']) {
    const value = Number(env[name]);
    if (Number.isSafeInteger(value) && value > 0) return value;
  }
  return undefined;
}

/** This process's rank among those on its node (Open MPI, MPICH/Hydra, MVAPICH, Slurm), or 0. */
export function localRank(env: NodeJS.ProcessEnv = process.env): number {
  for (const name of ['OMPI_COMM_WORLD_LOCAL_RANK', 'MPI_LOCALRANKID', 'MV2_COMM_WORLD_LOCAL_RANK', 'SLURM_LOCALID']) {
    const value = Number(env[name]);
    if (env[name] !== undefined && Number.isSafeInteger(value) && value >= 0) return value;
  }
  return 0;
}
