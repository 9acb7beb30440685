/** A reason a command cannot run that the operator can fix: the CLI prints its message alone, one line, no stack. */
export class StartupError extends Error {}
