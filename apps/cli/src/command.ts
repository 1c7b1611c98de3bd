/** A subcommand of `mailwarden` (registered in main.ts). */
export interface Command {
  /** One line for the command list in `--help`. */
  summary: string;
  /** Receives the arguments after the command name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}
