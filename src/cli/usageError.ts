/** A usage mistake: printed without a stack, exit status 2. */
export class UsageError extends Error {}
