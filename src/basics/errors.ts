/**
 * The one error base class. Each module subclasses it with a closed union of stable
 * SCREAMING_SNAKE codes; the web layer maps codes to HTTP statuses in one table.
 */
export class VotervaultError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Where in an outside text a parse failed. */
export interface InputPosition {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

/** Parse failure of outside text (files, request bodies): carries the position. */
export class InputError<C extends string = string> extends VotervaultError<C> {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(code: C, message: string, position: InputPosition = {}, options?: ErrorOptions) {
    super(code, message, options);
    this.file = position.file;
    this.line = position.line;
    this.column = position.column;
  }
}
