"""arsdk: real-time AR effects from one RGB camera.

    import arsdk
    pipe = arsdk.Pipeline.default(intrinsics=arsdk.Intrinsics.from_fov(640, 480, hfov_deg=60))
    for frame in arsdk.open_source("demo"):
        state = pipe.process(frame)   # FrameState: image, depth (m), mask, intrinsics, camera_to_world, floor
"""
from pathlib import Path as _Path

# Installed, the effects, their shaders and the app live inside this package (arsdk.effects, arsdk.shaders,
# arsdk.demo_app). In a source checkout they are the top-level folders beside this one: let imports find them there
# under the same names, so code and tests read the same either way.
_CHECKOUT = _Path(__file__).resolve().parent.parent
if (_CHECKOUT / "effects" / "__init__.py").is_file() and (_CHECKOUT / "shaders" / "__init__.py").is_file():
    __path__.append(str(_CHECKOUT))  # noqa: F821  (the package's own search path)

from . import models  # noqa: E402
from .camera import DemoSource, Frame, FrameSource, ImageFolderSource, ImageSource, VideoFileSource, WebcamSource, \
    open_source, read_image
from .depth import DepthEstimator, DepthModelSpec, DepthResult, ScaleRecovery, TemporalDepthFilter
from .errors import ArsdkError, InputError, ModelError, ModelNotFoundError, SinkError, SourceError
from .geometry import FloorPlane, Intrinsics, WorldFrameTracker, camera_to_world_from_floor, fit_floor_plane, \
    normals_from_points, project, unproject
from .pipeline import FrameState, Pipeline
from .segmentation import PersonSegmenter, SegmenterSpec, TemporalMaskFilter

__version__ = "0.1.0"

__all__ = [
    "ArsdkError", "DemoSource", "DepthEstimator", "DepthModelSpec", "DepthResult", "FloorPlane", "Frame",
    "FrameSource", "FrameState", "ImageFolderSource", "ImageSource", "InputError", "Intrinsics", "ModelError",
    "ModelNotFoundError", "PersonSegmenter", "Pipeline", "ScaleRecovery", "SegmenterSpec", "SinkError", "SourceError",
    "TemporalDepthFilter", "TemporalMaskFilter", "VideoFileSource", "WebcamSource", "WorldFrameTracker",
    "camera_to_world_from_floor", "fit_floor_plane", "models", "normals_from_points", "open_source", "project",
    "read_image", "unproject",
]
