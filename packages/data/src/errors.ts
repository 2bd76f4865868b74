/**
 * Errors raised by @kindling/data. Every error about a file names the file and says what is wrong
 * with it, so a user can act without a debugger: "…/train-images-idx3-ubyte.gz is truncated:
 * expected 47040016 bytes, found 47039000".
 */

/** A data file is missing, unreadable, corrupt, truncated or inconsistent with its partner file. */
export class DataFileError extends Error {
  override readonly name = 'DataFileError';
  /** The file (path or URL) the problem is about. */
  readonly file: string;
  /** What is wrong with it, without the file name. */
  readonly problem: string;

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, options);
    this.file = file;
    this.problem = problem;
  }
}

/** No folder holding the dataset files was found; the message lists every place looked. */
export class DatasetNotFoundError extends Error {
  override readonly name = 'DatasetNotFoundError';
  /** Every folder that was searched, in search order, with why it did not qualify. */
  readonly searched: readonly { dir: string; why: string }[];

  constructor(message: string, searched: readonly { dir: string; why: string }[]) {
    super(message);
    this.searched = searched;
  }
}

/** A download failed on every mirror, or its checksum did not match. */
export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
