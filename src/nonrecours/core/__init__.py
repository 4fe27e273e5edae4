"""The join core: canonical tables → units, reference-period resources and rule inputs."""

from nonrecours.core.inputs import RESOURCE_INPUTS, SOURCE_PRIORITY, build_inputs

__all__ = ["RESOURCE_INPUTS", "SOURCE_PRIORITY", "build_inputs"]
