# SPDX-License-Identifier: LGPL-2.1-or-later
#
# PyGObject overrides for netdb (namespace Net, version 1.0).
#
# Sugar only: everything here is a thin layer over the GI API, which keeps
# working unchanged (db.props.tasks, db.get_tasks(), find_many(filter) with a
# Net.TasksFilter, ...).  What it adds:
#
#   db.tasks / db.memories            attributes for the properties
#   with Net.Db.new(...) as db:       closes the database on exit
#   db.tasks.find_many(status="pending", order_by="created_desc", limit=50)
#                                     keyword filters for find_many,
#                                     find_first, count, exists and watch
#   Net.TasksFilter(status="pending") enum properties also take nicks
#   model.set_filter(title_contains="x")
#                                     keyword filters for a live query
#
# Enum keywords take the enum value or its nick, with '_' or '-' and in any
# case: "pending", "created_desc", "CREATED-DESC".  Time bounds take
# microseconds since the epoch (like the C API) or an aware datetime.

import datetime

from ..module import get_introspection_module
from ..overrides import override

from gi.repository import GObject

Net = get_introspection_module('Net')

__all__ = []

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MICROSECOND = datetime.timedelta(microseconds=1)

_TIME_PROPERTIES = ('created_after', 'created_before',
                    'updated_after', 'updated_before')


def _enum_value(enum_type, value, what):
    """@value as a member of @enum_type: a member, an int or a nick."""
    if isinstance(value, enum_type):
        return value
    if isinstance(value, str):
        name = value.strip().replace('-', '_').upper()
        member = getattr(enum_type, name, None)
        if isinstance(member, enum_type):
            return member
        nicks = sorted(m.value_nick for m in enum_type.__enum_values__.values())
        raise ValueError('%s: unknown value %r; expected one of %s'
                         % (what, value, ', '.join(nicks)))
    if isinstance(value, int) and not isinstance(value, bool):
        if value in enum_type.__enum_values__:
            return enum_type(value)
        raise ValueError('%s: %d is not a %s value'
                         % (what, value, enum_type.__gtype__.name))
    raise TypeError('%s: expected a %s or a string, not %s'
                    % (what, enum_type.__gtype__.name, type(value).__name__))


def _timestamp(value, what):
    """@value in microseconds since the epoch."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError('%s: use an aware datetime (with tzinfo), '
                             'or microseconds since the epoch' % what)
        return (value - _EPOCH) // _MICROSECOND
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError('%s: expected microseconds since the epoch or a '
                    'datetime, not %s' % (what, type(value).__name__))


def _properties(filter_type):
    """The properties a keyword may name: {"title_contains": pspec, ...}."""
    props = filter_type.__dict__.get('_keyword_properties')
    if props is None:
        props = {p.name.replace('-', '_'): p
                 for p in GObject.list_properties(filter_type)
                 if not p.name.endswith('-set')}
        filter_type._keyword_properties = props
    return props


def _coerce(filter_type, enums, key, value):
    """The GObject property name and value for the keyword @key=@value."""
    name = key.replace('-', '_')
    props = _properties(filter_type)
    if name not in props:
        raise TypeError('%s: unknown filter keyword %r; expected one of %s'
                        % (filter_type.__gtype__.name, key,
                           ', '.join(sorted(props))))
    if name in enums:
        value = _enum_value(enums[name], value, name)
    elif name in _TIME_PROPERTIES:
        value = _timestamp(value, name)
    elif name in ('any_tags', 'all_tags'):
        value = [value] if isinstance(value, str) else list(value)
    return name, value


def _filter_properties(filter_type, enums, kwargs):
    """Keywords as GObject properties.  None leaves a constraint unset;
    the *_set properties pass through unchanged."""
    props = {}
    for key, value in kwargs.items():
        if value is None:
            continue
        if key.endswith('_set'):
            props[key] = value
        else:
            name, value = _coerce(filter_type, enums, key, value)
            props[name] = value
    return props


def _make_filter(filter_type, args, kwargs, what):
    """A filter for a query: None, the positional filter, or a new filter
    from the keywords (applied to a copy of the positional one, if any)."""
    if len(args) > 1:
        raise TypeError('%s() takes at most one positional argument (a %s)'
                        % (what, filter_type.__gtype__.name))
    base = args[0] if args else kwargs.pop('filter', None)
    if base is not None and not isinstance(base, filter_type):
        raise TypeError('%s(): expected a %s, not %s'
                        % (what, filter_type.__gtype__.name,
                           type(base).__name__))
    if not kwargs:
        return base
    props = _filter_properties(filter_type, filter_type._enums, kwargs)
    result = base.copy() if base is not None else filter_type()
    for name, value in props.items():
        result.set_property(name, value)
    return result


# --- filters -------------------------------------------------------------------


class TasksFilter(Net.TasksFilter):
    """Net.TasksFilter whose constructor also takes enum nicks and
    datetimes: Net.TasksFilter(status="pending", order_by="created_desc")."""

    _enums = {'status': Net.TaskStatus, 'order_by': Net.OrderBy}

    def __init__(self, **kwargs):
        super().__init__(**_filter_properties(Net.TasksFilter, self._enums,
                                              kwargs))


TasksFilter = override(TasksFilter)
__all__.append('TasksFilter')


class MemoriesFilter(Net.MemoriesFilter):
    """Net.MemoriesFilter whose constructor also takes enum nicks,
    datetimes and a single tag string for any_tags/all_tags."""

    _enums = {'order_by': Net.OrderBy}

    def __init__(self, **kwargs):
        super().__init__(**_filter_properties(Net.MemoriesFilter,
                                              self._enums, kwargs))


MemoriesFilter = override(MemoriesFilter)
__all__.append('MemoriesFilter')


# --- the models ----------------------------------------------------------------


class _Queries:
    """find_many, find_first, count, exists and watch that take a filter
    object, or keywords, or both (the keywords then refine a copy of the
    filter)."""

    _filter_type = None

    def find_many(self, *args, **kwargs):
        """The items the filter selects, as a list."""
        return self._plain.find_many(
            self, _make_filter(self._filter_type, args, kwargs, 'find_many'))

    def find_first(self, *args, **kwargs):
        """The first item the filter selects, or None."""
        return self._plain.find_first(
            self, _make_filter(self._filter_type, args, kwargs, 'find_first'))

    def count(self, *args, **kwargs):
        """How many items the filter selects (ignoring limit and offset)."""
        return self._plain.count(
            self, _make_filter(self._filter_type, args, kwargs, 'count'))

    def exists(self, *args, **kwargs):
        """Whether the filter selects any item (ignoring limit and
        offset)."""
        return self._plain.exists(
            self, _make_filter(self._filter_type, args, kwargs, 'exists'))

    def watch(self, *args, **kwargs):
        """A live Net.QueryModel of the items the filter selects."""
        return self._plain.watch(
            self, _make_filter(self._filter_type, args, kwargs, 'watch'))


class DbTasks(_Queries, Net.DbTasks):
    """Net.DbTasks with keyword filters:
    tasks.find_many(status="pending", order_by="created_desc", limit=50)."""

    _plain = Net.DbTasks
    _filter_type = TasksFilter


DbTasks = override(DbTasks)
__all__.append('DbTasks')


class DbMemories(_Queries, Net.DbMemories):
    """Net.DbMemories with keyword filters:
    memories.find_many(tag="work", pinned=True, order_by="updated_desc")."""

    _plain = Net.DbMemories
    _filter_type = MemoriesFilter


DbMemories = override(DbMemories)
__all__.append('DbMemories')


# Every model of a database, once: its name (the NetDb property), its item
# type and its filter type.  Everything below that handles "a model" goes
# through this list rather than one branch per model.
_MODELS = (
    ('tasks', Net.Task, TasksFilter),
    ('memories', Net.Memory, MemoriesFilter),
)


def _filter_type_of(item_type):
    """The filter type of the model whose items are @item_type."""
    for _name, model_item_type, filter_type in _MODELS:
        if item_type == model_item_type.__gtype__:
            return filter_type
    raise TypeError('no netdb model has items of type %s' % item_type.name)


class QueryModel(Net.QueryModel):
    """Net.QueryModel whose set_filter() also takes keywords:
    model.set_filter(title_contains="rep") replaces the filter with a new
    one of the right type."""

    def set_filter(self, *args, **kwargs):
        filter_type = _filter_type_of(self.props.item_type)
        Net.QueryModel.set_filter(
            self, _make_filter(filter_type, args, kwargs, 'set_filter'))


QueryModel = override(QueryModel)
__all__.append('QueryModel')


# --- the database --------------------------------------------------------------


def _model_attribute(name):
    def get(self):
        return self.get_property(name)
    get.__doc__ = ('The %s model, or None when the database does not enable '
                   'it.' % name)
    return property(get)


class Db(Net.Db):
    """Net.Db with an attribute per model (db.tasks, db.memories: None when
    the model is not enabled) and the context manager protocol: the
    database is closed when the with block ends."""

    for _name, _item_type, _filter_type in _MODELS:
        locals()[_name] = _model_attribute(_name)
    del _name, _item_type, _filter_type

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


Db = override(Db)
__all__.append('Db')

