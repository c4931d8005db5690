"""The artifact store on the file system: one flat directory of validated names."""

from adapters.artifacts_fs.store import FileSystemArtifactStore

__all__ = ["FileSystemArtifactStore"]
