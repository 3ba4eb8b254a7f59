export { assert, unreachable, AssertionError } from './assert.ts';
export { VotervaultError, InputError } from './errors.ts';
export type { InputPosition } from './errors.ts';
export type { Brand } from './brand.ts';
export {
  checkPrivateDirectory,
  createPrivateFile,
  ensurePrivateDirectory,
  listPrivateDirectory,
  PRIVATE_DIRECTORY_MODE,
  PRIVATE_FILE_ERROR_CODES,
  PRIVATE_FILE_MODE,
  PrivateFileError,
  readPrivateFile,
  removePrivateFile,
  replacePrivateFile,
  syncDirectory,
  translatePrivateFileErrors,
} from './private-file.ts';
export type { PrivateFileErrorCode, PrivateFileNames, PrivateFileOptions } from './private-file.ts';
