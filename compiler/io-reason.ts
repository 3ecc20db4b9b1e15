/** File-system errors in words, for diagnostics that name a path and say why it failed. */

/** A file-system error in words, with its code: `permission denied (EACCES)`. */
export function ioReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const words: Record<string, string> = {
    ENOENT: "no such file or folder",
    ENOTDIR: "a part of the path is a file, not a folder",
    EISDIR: "it is a folder",
    EEXIST: "a file is in the way",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    EDQUOT: "disk quota exceeded",
    ENAMETOOLONG: "the name is too long",
    ELOOP: "too many symbolic links",
    EMFILE: "too many open files",
    EBUSY: "the file is busy",
    EIO: "an input/output error",
    EXDEV: "it is on another device",
    ENOTEMPTY: "the folder is not empty",
    ERR_INVALID_ARG_VALUE: "the path contains a NUL character",
    ERR_INVALID_ARG_TYPE: "the path contains a NUL character",
  };
  if (code !== undefined) return `${words[code] ?? (e as Error).message} (${code})`;
  return e instanceof Error ? e.message : String(e);
}
