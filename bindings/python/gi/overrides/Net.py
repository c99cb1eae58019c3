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
#   db.open_collection("notes", Note, indexes=["due"], search=["title"])
#                                     a collection with its indexes
#   notes.update(id, title="x", starred=True)
#                                     keyword fields for updatev
#   notes.find_many(starred=True, due__lt=dt, order_by="-due", limit=50)
#                                     keyword conditions (field__op=value)
#                                     for find_many, find_first, count,
#                                     exists and watch
#   Note(title="x", due=datetime, blob=b"...")
#                                     Python values for record fields
#
# Enum keywords take the enum value or its nick, with '_' or '-' and in any
# case: "pending", "created_desc", "CREATED-DESC".  Time bounds take
# microseconds since the epoch (like the C API) or an aware datetime.

import datetime

from ..module import get_introspection_module
from ..overrides import override

from gi.repository import GLib, GObject

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
        item_type = self.props.item_type
        if item_type.is_a(Net.Record.__gtype__):
            # A collection's model says NetRecord: the record class is the
            # one Collection.watch() noted.
            record_type = getattr(self, '_net_record_type', item_type)
            Net.QueryModel.set_filter(self, _collection_filter(
                record_type, args, kwargs, 'set_filter'))
            return
        filter_type = _filter_type_of(item_type)
        Net.QueryModel.set_filter(
            self, _make_filter(filter_type, args, kwargs, 'set_filter'))


QueryModel = override(QueryModel)
__all__.append('QueryModel')


# --- collections ---------------------------------------------------------------


# The operators of a keyword condition, field__op=value (a bare field=value
# is __eq), as NetFilterOp nicks.
_FILTER_OPS = {
    'eq': Net.FilterOp.EQ,
    'ne': Net.FilterOp.NE,
    'lt': Net.FilterOp.LT,
    'le': Net.FilterOp.LE,
    'gt': Net.FilterOp.GT,
    'ge': Net.FilterOp.GE,
    'contains': Net.FilterOp.CONTAINS,
    'prefix': Net.FilterOp.PREFIX,
}

_INT64_MAX = (1 << 63) - 1


def _field_name(key):
    """The GObject property name of the keyword @key (due_date → due-date)."""
    return key.replace('_', '-')


def _record_fields(record_type):
    """{name: GParamSpec} of the fields (and id, created-at, updated-at) of
    the records of @record_type, a GType."""
    cache = _record_fields.cache
    fields = cache.get(record_type)
    if fields is None:
        fields = {p.name: p for p in GObject.list_properties(record_type)}
        cache[record_type] = fields
    return fields


_record_fields.cache = {}


def _is_untyped(record_type):
    return record_type == Net.Record.__gtype__


def _datetime_from_python(value, what):
    """An aware datetime.datetime as a GLib.DateTime in UTC (exact to the
    microsecond)."""
    if value.tzinfo is None:
        raise ValueError('%s: use an aware datetime (with tzinfo)' % what)
    usec = (value - _EPOCH) // _MICROSECOND
    seconds, usec = divmod(usec, 1000000)
    return GLib.DateTime.new_from_unix_utc(seconds).add(usec)


def _guess_gtype(value):
    """The GType a field gets from a Python value when the record class
    does not say (a collection opened without a class)."""
    if isinstance(value, bool):
        return GObject.TYPE_BOOLEAN
    if isinstance(value, (GObject.GEnum, GObject.GFlags)):
        return value.__gtype__
    if isinstance(value, int):
        return GObject.TYPE_INT64 if value <= _INT64_MAX else GObject.TYPE_UINT64
    if isinstance(value, float):
        return GObject.TYPE_DOUBLE
    if isinstance(value, str):
        return GObject.TYPE_STRING
    if isinstance(value, (list, tuple)):
        return GObject.TYPE_STRV
    if isinstance(value, (bytes, bytearray, memoryview, GLib.Bytes)):
        return GLib.Bytes.__gtype__
    if isinstance(value, (datetime.datetime, GLib.DateTime)):
        return GLib.DateTime.__gtype__
    raise TypeError('no field type for a %s' % type(value).__name__)


def _python_to_field(gtype, value, what):
    """@value as the Python value PyGObject stores in a GValue of @gtype:
    datetimes become GLib.DateTime, bytes GLib.Bytes, nicks enum members."""
    if value is None:
        return None
    if gtype == GLib.DateTime.__gtype__:
        if isinstance(value, datetime.datetime):
            return _datetime_from_python(value, what)
        if isinstance(value, int) and not isinstance(value, bool):
            return GLib.DateTime.new_from_unix_utc(0).add(value)
        if not isinstance(value, GLib.DateTime):
            raise TypeError('%s: expected a datetime or a GLib.DateTime, '
                            'not %s' % (what, type(value).__name__))
        return value
    if gtype == GLib.Bytes.__gtype__:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return GLib.Bytes.new(bytes(value))
        if not isinstance(value, GLib.Bytes):
            raise TypeError('%s: expected bytes or a GLib.Bytes, not %s'
                            % (what, type(value).__name__))
        return value
    if gtype == GObject.TYPE_STRV:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise TypeError('%s: expected a list of strings, not %s'
                            % (what, type(value).__name__))
        return list(value)
    if gtype == GObject.TYPE_INT64 and isinstance(value, datetime.datetime):
        return _timestamp(value, what)   # created-at, updated-at
    if gtype.is_a(GObject.TYPE_ENUM):
        enum_type = gtype.pytype
        if enum_type is not None and (isinstance(value, str)
                                      or not isinstance(value, enum_type)):
            return _enum_value(enum_type, value, what)
        return value
    if gtype.is_a(GObject.TYPE_FLAGS):
        flags_type = gtype.pytype
        if isinstance(value, str) and flags_type is not None:
            result = 0
            for nick in value.split('|'):
                name = nick.strip().replace('-', '_').upper()
                member = getattr(flags_type, name, None)
                if not isinstance(member, flags_type):
                    nicks = sorted(n for v in flags_type.__flags_values__.values()
                                   for n in v.value_nicks)
                    raise ValueError('%s: unknown flag %r; expected some of '
                                     '%s, joined by |'
                                     % (what, nick, ', '.join(nicks)))
                result |= member
            return flags_type(result)
        return value
    if gtype == GObject.TYPE_DOUBLE and isinstance(value, int) \
            and not isinstance(value, bool):
        return float(value)
    return value


def _check_field(record_type, name, what):
    """A TypeError naming the fields when @record_type (not the untyped
    Net.Record) has no field @name."""
    if _is_untyped(record_type) or name in _record_fields(record_type):
        return
    fields = sorted(_record_fields(record_type))
    raise TypeError('%s: %s has no field %r; its fields are %s'
                    % (what, record_type.name, name, ', '.join(fields)))


def _field_value(record_type, name, value, what, strict):
    """A GObject.Value of the field @name of @record_type holding @value.
    A field the class does not have takes the type of @value when @strict
    is false (the collection then decides), and is a TypeError when true."""
    if isinstance(value, GObject.Value):
        return value
    pspec = _record_fields(record_type).get(name)
    if pspec is not None:
        gtype = pspec.value_type
    else:
        if strict:
            _check_field(record_type, name, what)
        if value is None:
            raise TypeError('%s: None says nothing of the type of field %r'
                            % (what, name))
        gtype = _guess_gtype(value)
    try:
        return GObject.Value(gtype, _python_to_field(gtype, value, what))
    except (TypeError, OverflowError, ValueError) as e:
        raise type(e)('%s: field %r (%s): %s'
                      % (what, name, gtype.name, e)) from None


def _order_keys(order_by, what):
    """(field, descending) pairs from "due", "-due", or a list of them."""
    if isinstance(order_by, str):
        order_by = [order_by]
    keys = []
    for key in order_by:
        if not isinstance(key, str) or key.strip('+-') == '':
            raise TypeError('%s: order_by takes field names, "-name" for '
                            'descending, not %r' % (what, key))
        descending = key.startswith('-')
        keys.append((_field_name(key.lstrip('+-')), descending))
    return keys


def _collection_filter(record_type, args, kwargs, what):
    """A Net.Filter for a query: None, the positional filter, or one made
    from keyword conditions (field=value, field__op=value), order_by,
    limit and offset."""
    if len(args) > 1:
        raise TypeError('%s() takes at most one positional argument '
                        '(a Net.Filter)' % what)
    base = args[0] if args else kwargs.pop('filter', None)
    if base is not None and not isinstance(base, Net.Filter):
        raise TypeError('%s(): expected a Net.Filter, not %s'
                        % (what, type(base).__name__))
    if not kwargs:
        return base
    if base is not None:
        raise TypeError('%s(): pass a Net.Filter or keywords, not both'
                        % what)
    result = Net.Filter.new()
    order_by = kwargs.pop('order_by', None)
    for key in ('limit', 'offset'):
        value = kwargs.pop(key, None)
        if value is not None:
            result.set_property(key, value)
    for key, value in kwargs.items():
        field, sep, op = key.rpartition('__')
        if not sep or op not in _FILTER_OPS:
            if sep:
                raise TypeError('%s: unknown operator %r in %r; expected '
                                'one of %s' % (what, op, key,
                                               ', '.join(_FILTER_OPS)))
            field, op = key, 'eq'
        name = _field_name(field)
        where = '%s(%s)' % (what, key)
        if op in ('contains', 'prefix'):
            # A substring or a member of a strv: a string either way.
            if not isinstance(value, (str, GObject.Value)):
                raise TypeError('%s: expected a string, not %s'
                                % (where, type(value).__name__))
            _check_field(record_type, name, where)
            gvalue = value if isinstance(value, GObject.Value) \
                else GObject.Value(GObject.TYPE_STRING, value)
        else:
            gvalue = _field_value(record_type, name, value, where, True)
        result.where(name, _FILTER_OPS[op], gvalue)
    if order_by is not None:
        for name, descending in _order_keys(order_by, what):
            _check_field(record_type, name, what + '(order_by)')
            result.order_by(name, descending)
    return result


class Filter(Net.Filter):
    """Net.Filter whose where() also takes an operator as a nick ("lt",
    "contains") or a symbol ("<", "!=") and a Python value, typed from the
    value: filter.where("due", "<", datetime).  Prefer the keywords of the
    collection's queries, which type a value as its field."""

    _SYMBOLS = {'=': 'eq', '==': 'eq', '!=': 'ne', '<': 'lt', '<=': 'le',
                '>': 'gt', '>=': 'ge'}

    def where(self, field, op, value):
        if isinstance(op, str):
            nick = self._SYMBOLS.get(op, op.lower())
            if nick not in _FILTER_OPS:
                raise ValueError('where: unknown operator %r; expected one '
                                 'of %s' % (op, ', '.join(
                                     list(_FILTER_OPS) + list(self._SYMBOLS))))
            op = _FILTER_OPS[nick]
        if not isinstance(value, GObject.Value):
            gtype = _guess_gtype(value)
            value = GObject.Value(gtype, _python_to_field(gtype, value,
                                                          'where'))
        return Net.Filter.where(self, _field_name(field), op, value)


Filter = override(Filter)
__all__.append('Filter')


class Record(Net.Record):
    """Net.Record whose constructor also takes Python values for fields
    of the GLib types: Note(title="x", due=datetime, blob=b"...")."""

    def __init__(self, **kwargs):
        record_type = type(self).__gtype__
        props = {}
        for key, value in kwargs.items():
            pspec = _record_fields(record_type).get(_field_name(key))
            if pspec is not None and value is not None:
                value = _python_to_field(pspec.value_type, value, key)
            props[key] = value
        super().__init__(**props)

    def __getitem__(self, name):
        """The value of the field @name (record["title"]), also of a
        record of a collection opened without a class; a KeyError when
        the record has no such field.  Plain GI: get_field(name) returns
        (found, value)."""
        name = _field_name(name)
        # (PyGObject cannot return the unset GValue of a field not found.)
        if name not in ('id', 'created-at', 'updated-at') \
                and name not in self.list_fields():
            raise KeyError(name)
        try:
            found, value = Net.Record.get_field(self, name)
        except TypeError:
            # A field the collection stores that this record lacks.
            found = False
        if not found:
            raise KeyError(name)
        return value


Record = override(Record)
__all__.append('Record')


class Collection(Net.Collection):
    """Net.Collection with keyword fields and keyword queries:
    notes.update(id, title="x"), notes.find_many(starred=True,
    due__lt=dt, order_by="-due", limit=50)."""

    def update(self, id, *args, **fields):
        """Changes fields of the record @id: update(id, title="x",
        starred=True).  The plain form, update(id, names, values), works
        too.  Returns the seq of the event."""
        if args:
            return Net.Collection.update(self, id, *args)
        if not fields:
            raise TypeError('update() needs at least one field=value')
        record_type = self.get_record_type()
        names = []
        values = []
        for key, value in fields.items():
            name = _field_name(key)
            names.append(name)
            values.append(_field_value(record_type, name, value,
                                       'update(%s)' % key, False))
        return Net.Collection.update(self, id, names, values)

    def find_many(self, *args, **kwargs):
        """The records the filter selects, as a list."""
        return Net.Collection.find_many(self, _collection_filter(
            self.get_record_type(), args, kwargs, 'find_many'))

    def find_first(self, *args, **kwargs):
        """The first record the filter selects, or None."""
        return Net.Collection.find_first(self, _collection_filter(
            self.get_record_type(), args, kwargs, 'find_first'))

    def count(self, *args, **kwargs):
        """How many records the filter selects (ignoring limit and
        offset)."""
        return Net.Collection.count(self, _collection_filter(
            self.get_record_type(), args, kwargs, 'count'))

    def exists(self, *args, **kwargs):
        """Whether the filter selects any record."""
        return Net.Collection.exists(self, _collection_filter(
            self.get_record_type(), args, kwargs, 'exists'))

    def watch(self, *args, **kwargs):
        """A live Net.QueryModel of the records the filter selects."""
        record_type = self.get_record_type()
        model = Net.Collection.watch(self, _collection_filter(
            record_type, args, kwargs, 'watch'))
        # For set_filter(**keywords); an attribute also keeps this wrapper
        # (PyGObject then holds it for as long as the model lives).
        model._net_record_type = record_type
        return model


Collection = override(Collection)
__all__.append('Collection')


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

    def open_collection(self, name, record_type, indexes=(), search=()):
        """The collection @name of records of @record_type (a Net.Record
        subclass, or Net.Record for an untyped one), with an ordered index
        on each field of @indexes and a search index on each of @search."""
        collection = Net.Db.open_collection(self, name, record_type)
        flags = {}
        for fields, flag in ((indexes, Net.IndexFlags.ORDERED),
                             (search, Net.IndexFlags.SEARCH)):
            if isinstance(fields, str):
                fields = [fields]
            for field in fields:
                field = _field_name(field)
                flags[field] = flags.get(field, Net.IndexFlags.NONE) | flag
        for field, flag in flags.items():
            collection.add_index(field, flag)
        return collection

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


Db = override(Db)
__all__.append('Db')

