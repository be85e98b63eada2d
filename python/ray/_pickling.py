"""Values as pickles: what ray stores for a Python value, and how it comes back.

cloudpickle (for functions, lambdas and classes defined in __main__ or inside functions) with
additions of ours: dataclasses defined inside functions keep their fields (cloudpickle 2.2
copies the markers dataclasses compares by identity, so fields() came back empty); exceptions
of user classes unpickle without calling their __init__ (which often takes other arguments
than the args it passes on); and a numpy array that is not contiguous warns, once, that it is
copied to be stored.
"""

import collections
import dataclasses
import functools
import io
import pickle
import sys
import warnings

import cloudpickle

from ray import _raylet
from ray.exceptions import _from_error_info

# Types that the standard pickler writes as fast as possible and in full.
_PLAIN_TYPES = frozenset([int, float, str, bytes, bool, type(None), complex])

# dataclasses tells fields from class variables by these module singletons (compared with
# `is`): they must unpickle as themselves.
_FIELD_MARKERS = {id(getattr(dataclasses, name)): name
                  for name in ("_FIELD", "_FIELD_CLASSVAR", "_FIELD_INITVAR")}


def _reduce_field_marker(marker):
    return getattr, (dataclasses, _FIELD_MARKERS[id(marker)])


def _plainly_pickled_exception(cls):
    """True for a user's exception class that pickles as BaseException does (by args, then
    __init__), which we replace."""
    return (cls.__module__ != "builtins" and cls.__reduce__ is BaseException.__reduce__
            and cls.__reduce_ex__ is BaseException.__reduce_ex__
            and cls.__setstate__ is BaseException.__setstate__
            and cls.__getstate__ is object.__getstate__)


def _rebuild_exception(cls, args, state):
    """An exception as it was pickled: made with __new__ (which keeps args), not __init__."""
    error = cls.__new__(cls, *args)
    error.args = args
    if state:
        error.__dict__.update(state)
    return error


_warned_non_contiguous = False


def _warn_non_contiguous(array):
    global _warned_non_contiguous
    if not _warned_non_contiguous:
        _warned_non_contiguous = True
        warnings.warn(
            f"ray: a numpy array that is not contiguous (shape {array.shape}, strides "
            f"{array.strides}) is copied to be stored; numpy.ascontiguousarray() makes the "
            "copy once, in your code (this warning is shown once)", UserWarning, stacklevel=2)


class _Pickler(cloudpickle.CloudPickler):
    dispatch_table = collections.ChainMap({dataclasses._FIELD_BASE: _reduce_field_marker},
                                          cloudpickle.CloudPickler.dispatch_table)

    def reducer_override(self, obj):
        if isinstance(obj, BaseException) and _plainly_pickled_exception(type(obj)):
            return _rebuild_exception, (type(obj), obj.args, getattr(obj, "__dict__", None))
        numpy = sys.modules.get("numpy")
        if (numpy is not None and type(obj) is numpy.ndarray
                and not (obj.flags.c_contiguous or obj.flags.f_contiguous)):
            _warn_non_contiguous(obj)
        return super().reducer_override(obj)


def dumps(value, buffer_callback=None):
    """cloudpickle.dumps (protocol 5) with our reducers."""
    out = io.BytesIO()
    _Pickler(out, protocol=5, buffer_callback=buffer_callback).dump(value)
    return out.getvalue()


def serialize(value):
    """(parts, type name, nested IDs) of a value: parts[0] is its pickle (protocol 5) stream,
    the rest its out-of-band buffers (numpy arrays' data), which ray._raylet copies once into the
    object and ray.get maps back read-only, with no copy. The nested IDs (bytes) name the
    ObjectIDs inside the value: the runtime keeps those objects alive as long as the value."""
    if type(value) in _PLAIN_TYPES:
        return [pickle.dumps(value, protocol=5)], type(value).__qualname__, b""
    buffers = []
    try:
        stream, nested = _raylet.collect_ids(
            functools.partial(dumps, value, buffer_callback=_out_of_band(buffers)))
    except Exception as e:
        raise TypeError(f"ray cannot serialize {type(value).__name__} object: {e}") from e
    return [stream] + buffers, type(value).__qualname__, nested


def _out_of_band(buffers):
    """A pickle buffer_callback: contiguous buffers go out of band (into `buffers`)."""
    def callback(pickle_buffer):
        try:
            buffers.append(pickle_buffer.raw())
        except BufferError:  # not contiguous: pickled in band
            return True
        return False
    return callback


def deserialize(buffer, ref=None):
    """The value of an object (an _raylet.ObjectBuffer, or for a small value without arrays its
    pickle stream as bytes); raises the error an error object holds (`ref`, the ObjectID read,
    tells whether its own task failed or one it depended on). Arrays in the value are read-only
    views of the object's memory."""
    if type(buffer) is bytes:
        return pickle.loads(buffer)
    fmt = buffer.format
    if fmt == _raylet.FORMAT_PICKLE:
        return pickle.loads(buffer, buffers=buffer.oob_buffers())
    if fmt == _raylet.FORMAT_ERROR:
        raise _from_error_info(buffer.error_info(), ref)
    if fmt in (_raylet.FORMAT_MSGPACK, _raylet.FORMAT_RAW):  # written by C++ (cross_language)
        return _raylet.object_to_python(buffer)
    raise TypeError(f"ray.get: the object is not a Python value: {buffer.describe()}")
