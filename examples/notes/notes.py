#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# notes.py: a GTK 4 notes app on a netdb collection (Python, PyGObject).
#
# The app defines its own record class, `Note` (title, body, tags, starred,
# due), and keeps its notes in a collection of a netdb database.  The list
# is a live query: `notes.watch(filter)` with a Net.Filter that orders by
# the due date (an ordered index) and, while searching, holds a condition
# "title CONTAINS text" (a search index).  Adding, editing or starring a
# note only writes an event; the list changes when the fold delivers it.
#
# "Starred only" is a GtkFilterListModel stacked over the live query.  It
# looks at a note again only when the model below says the note changed,
# so the query model is told to report in-place changes as items-changed
# (NetQueryModel:report-updates): a note starred while the filter is on
# then shows up, and an unstarred one goes away.
#
#   notes.py [DIR]        the notes in DIR, or $XDG_DATA_HOME/netdb-notes
#   notes.py --memory     an in-memory database, gone on exit
#   notes.py --self-test  a new db in a temporary directory, with two notes
#       written before the app opens it; drives the window through its own
#       widgets, checks what the list shows, saves a screenshot to
#       $NETDB_EXAMPLE_SCREENSHOT (default notes.png) and exits 0 only if
#       every check passed
#
# Against the uninstalled build (see examples/README.md):
#   meson devenv -C build -w . /usr/bin/python3 examples/notes/notes.py

import argparse
import datetime
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback

SKIP = 77

try:
    import gi
    gi.require_version("GLib", "2.0")
    gi.require_version("GObject", "2.0")
    gi.require_version("Gio", "2.0")
    gi.require_version("Gdk", "4.0")
    gi.require_version("Gtk", "4.0")
    gi.require_version("Pango", "1.0")
except (ImportError, ValueError) as e:
    # No PyGObject, or no GTK 4 typelib (Debian: gir1.2-gtk-4.0).
    print("SKIP: %s" % e)
    sys.exit(SKIP)

gi.require_version("Net", "1.0")
from gi.repository import Gdk, Gio, GLib, GObject, Gtk, Net, Pango  # noqa: E402

APP_ID = "org.gnome.NetdbExample.Notes"
DB_DIR_NAME = "netdb-notes"
SELF_TEST_TIMEOUT_SECONDS = 10
# A starred note's star is gold, not a pressed button.
CSS = b"""
button.star:checked { background: none; box-shadow: none; color: #e5a50a; }
button.star:checked:hover { background: alpha(currentColor, 0.07); }
"""
DATE_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


class Note(Net.Record):
    """One note: the fields are what the collection stores (netdb adds id,
    created-at and updated-at)."""

    __gtype_name__ = "NetdbExampleNote"

    title = GObject.Property(type=str)
    body = GObject.Property(type=str)
    tags = GObject.Property(type=GObject.TYPE_STRV)
    starred = GObject.Property(type=bool, default=False)
    # A date: midnight UTC of that day, shown in UTC.  None: no due date
    # (such notes sort first).
    due = GObject.Property(type=GLib.DateTime)


# --- values ---------------------------------------------------------------------


def parse_due(text):
    """A due date from "YYYY-MM-DD" (a GLib.DateTime), None from "", or
    raises ValueError."""
    if not text.strip():
        return None
    match = DATE_RE.match(text)
    if match is None:
        raise ValueError("a due date is written YYYY-MM-DD, not %r" % text)
    year, month, day = (int(part) for part in match.groups())
    datetime.date(year, month, day)   # ValueError for 2026-02-30
    return GLib.DateTime.new_utc(year, month, day, 0, 0, 0)


def format_due(due):
    return due.format("%Y-%m-%d") if due is not None else ""


def show_due(due):
    return due.format("%a %-d %b %Y") if due is not None else "No due date"


def parse_tags(text):
    """Tags from "work, home" or "#work #home", in order, once each."""
    tags = []
    for word in re.split(r"[\s,]+", text):
        word = word.lstrip("#")
        if word and word not in tags:
            tags.append(word)
    return tags


def split_title(text):
    """(title, tags) from what is typed in the new-note entry: the words
    that start with '#' are tags."""
    words = text.split()
    tags = parse_tags(" ".join(w for w in words if len(w) > 1 and w.startswith("#")))
    title = " ".join(w for w in words if not (len(w) > 1 and w.startswith("#")))
    return title, tags


def same_due(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a.compare(b) == 0


# --- the list rows -------------------------------------------------------------


class NoteRow(Gtk.Box):
    """A row: star toggle, title, tags and body, due date, edit button.
    The note is live: its notify updates the row."""

    def __init__(self, app):
        super().__init__(orientation=Gtk.Orientation.HORIZONTAL, spacing=12)
        self.app = app
        self.note = None
        self.list_item = None
        self.notify_handler = 0
        self.syncing = False

        self.star_button = Gtk.ToggleButton(icon_name="non-starred-symbolic",
                                            valign=Gtk.Align.CENTER,
                                            tooltip_text="Star")
        self.star_button.add_css_class("flat")
        self.star_button.add_css_class("star")
        self.star_button.connect("toggled", self.on_star_toggled)
        self.append(self.star_button)

        text = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=2,
                       hexpand=True, valign=Gtk.Align.CENTER)
        self.title_label = Gtk.Label(xalign=0.0, ellipsize=Pango.EllipsizeMode.END)
        self.title_label.add_css_class("heading")
        text.append(self.title_label)
        self.detail_label = Gtk.Label(xalign=0.0, ellipsize=Pango.EllipsizeMode.END)
        self.detail_label.add_css_class("dim-label")
        self.detail_label.add_css_class("caption")
        text.append(self.detail_label)
        self.append(text)

        self.due_label = Gtk.Label(xalign=1.0, valign=Gtk.Align.CENTER)
        self.due_label.add_css_class("numeric")
        self.append(self.due_label)

        self.edit_button = Gtk.Button(icon_name="document-edit-symbolic",
                                      valign=Gtk.Align.CENTER,
                                      tooltip_text="Edit")
        self.edit_button.add_css_class("flat")
        self.edit_button.connect("clicked", self.on_edit_clicked)
        self.append(self.edit_button)

    def bind(self, list_item):
        self.list_item = list_item
        self.note = list_item.get_item()
        self.notify_handler = self.note.connect("notify", self.on_note_notify)
        self.sync()

    def unbind(self):
        if self.note is not None and self.notify_handler:
            self.note.disconnect(self.notify_handler)
        self.note = None
        self.list_item = None
        self.notify_handler = 0

    def sync(self):
        note = self.note
        self.title_label.set_label(note.props.title or "")
        tags = " ".join("#" + tag for tag in (note.props.tags or []))
        body = (note.props.body or "").strip().split("\n")[0]
        self.detail_label.set_label("  ·  ".join(p for p in (tags, body) if p))
        self.detail_label.set_visible(bool(tags or body))
        self.due_label.set_label(show_due(note.props.due))
        self.syncing = True
        self.star_button.set_active(note.props.starred)
        self.syncing = False
        self.show_star()

    def show_star(self):
        starred = self.star_button.get_active()
        self.star_button.set_icon_name("starred-symbolic" if starred
                                       else "non-starred-symbolic")
        self.star_button.set_tooltip_text("Unstar" if starred else "Star")

    def on_note_notify(self, note, pspec):
        self.sync()

    def on_star_toggled(self, button):
        # The star shows at once; the note follows when the fold delivers.
        self.show_star()
        if self.syncing or self.note is None:
            return
        active = button.get_active()
        if active != self.note.props.starred \
                and not self.app.update_note(self.note, starred=active):
            self.sync()

    def on_edit_clicked(self, button):
        if self.note is not None:
            self.app.edit_note(self.note)


# --- the edit dialog -----------------------------------------------------------


class EditDialog(Gtk.Window):
    """Title, due date, tags, starred and body of one note.  Save writes
    one update with the fields that changed."""

    def __init__(self, app, note):
        super().__init__(title="Edit note", modal=True,
                         transient_for=app.window, destroy_with_parent=True,
                         default_width=420, default_height=380)
        self.app = app
        self.note = note

        header = Gtk.HeaderBar(show_title_buttons=False)
        self.cancel_button = Gtk.Button(label="Cancel")
        self.cancel_button.connect("clicked", lambda b: self.finish())
        header.pack_start(self.cancel_button)
        self.save_button = Gtk.Button(label="Save")
        self.save_button.add_css_class("suggested-action")
        self.save_button.connect("clicked", self.on_save)
        header.pack_end(self.save_button)
        self.set_titlebar(header)

        grid = Gtk.Grid(row_spacing=8, column_spacing=12, margin_start=12,
                        margin_end=12, margin_top=12, margin_bottom=12)
        self.set_child(grid)

        def add_row(row, label, widget):
            grid.attach(Gtk.Label(label=label, xalign=1.0), 0, row, 1, 1)
            widget.set_hexpand(True)
            grid.attach(widget, 1, row, 1, 1)

        self.title_entry = Gtk.Entry(text=note.props.title or "",
                                     activates_default=True)
        add_row(0, "Title", self.title_entry)
        self.due_entry = Gtk.Entry(text=format_due(note.props.due),
                                   placeholder_text="YYYY-MM-DD",
                                   activates_default=True)
        add_row(1, "Due", self.due_entry)
        self.tags_entry = Gtk.Entry(text=" ".join(note.props.tags or []),
                                    placeholder_text="work home",
                                    activates_default=True)
        add_row(2, "Tags", self.tags_entry)
        self.starred_check = Gtk.CheckButton(label="Starred",
                                             active=note.props.starred)
        grid.attach(self.starred_check, 1, 3, 1, 1)

        self.body_view = Gtk.TextView(wrap_mode=Gtk.WrapMode.WORD_CHAR,
                                      top_margin=6, bottom_margin=6,
                                      left_margin=6, right_margin=6)
        self.body_view.get_buffer().set_text(note.props.body or "", -1)
        scrolled = Gtk.ScrolledWindow(vexpand=True, hexpand=True,
                                      has_frame=True, min_content_height=120)
        scrolled.set_child(self.body_view)
        grid.attach(scrolled, 0, 4, 2, 1)

        self.set_default_widget(self.save_button)
        # Escape closes the dialog too (GtkWindow's window.close action).
        shortcuts = Gtk.ShortcutController()
        shortcuts.add_shortcut(Gtk.Shortcut(
            trigger=Gtk.ShortcutTrigger.parse_string("Escape"),
            action=Gtk.NamedAction.new("window.close")))
        self.add_controller(shortcuts)
        # Closed by the window manager or Escape: close-request, whose
        # default handler destroys the window.
        self.connect("close-request", lambda w: app.on_edit_dialog_closed(self) or False)

    def finish(self):
        self.app.on_edit_dialog_closed(self)
        self.destroy()

    def fields(self):
        """The fields that differ from the note's, or raises ValueError."""
        title = self.title_entry.get_text().strip()
        if not title:
            raise ValueError("a note needs a title")
        due = parse_due(self.due_entry.get_text())
        tags = parse_tags(self.tags_entry.get_text())
        buffer = self.body_view.get_buffer()
        body = buffer.get_text(buffer.get_start_iter(), buffer.get_end_iter(),
                               False)
        starred = self.starred_check.get_active()
        note = self.note
        changed = {}
        if title != (note.props.title or ""):
            changed["title"] = title
        if body != (note.props.body or ""):
            changed["body"] = body
        if tags != list(note.props.tags or []):
            changed["tags"] = tags
        if starred != note.props.starred:
            changed["starred"] = starred
        if not same_due(due, note.props.due):
            changed["due"] = due
        return changed

    def on_save(self, button):
        try:
            changed = self.fields()
        except ValueError as e:
            self.app.show_error("Could not save the note", str(e))
            return
        if not changed or self.app.update_note(self.note, **changed):
            self.finish()


# --- the application -------------------------------------------------------------


class NotesApp(Gtk.Application):

    def __init__(self, args):
        flags = Gio.ApplicationFlags.FLAGS_NONE
        if args.self_test:
            # Never touch the user's notes, nor an already running instance.
            flags |= Gio.ApplicationFlags.NON_UNIQUE
        super().__init__(application_id=APP_ID, flags=flags)
        self.args = args
        self.self_test = args.self_test
        self.failed = False
        self.self_test_ok = False
        self.self_test_done = False
        self.db = None
        self.notes = None
        self.query = None
        self.window = None
        self.edit_dialog = None
        self.rows = []
        self.starred_only = False
        self.self_test_errors = []

    # The database and the live query --------------------------------------

    def open_db(self):
        if self.args.memory:
            path = None
        else:
            path = self.args.directory or os.path.join(GLib.get_user_data_dir(),
                                                       DB_DIR_NAME)
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.db = Net.Db.new(path, Net.DbModels.NONE)
        # An ordered index serves the order by due date, a search index
        # "title CONTAINS text": neither query scans every note.
        self.notes = self.db.open_collection("notes", Note, indexes=["due"],
                                             search=["title"])
        self.query = self.notes.watch(self.query_filter(""))
        # The "Starred only" GtkFilterListModel above reads `starred`: have
        # the query say items-changed (p, 1, 1) when a note changes in place.
        self.query.props.report_updates = True

    @staticmethod
    def query_filter(search):
        query_filter = Net.Filter.new()
        if search:
            query_filter.where("title", Net.FilterOp.CONTAINS,
                               GObject.Value(GObject.TYPE_STRING, search))
        return query_filter.order_by("due", False)

    def add_note(self, text, due_text):
        """A new note from the add bar; False when the input is refused."""
        title, tags = split_title(text)
        if not title:
            self.show_error("Could not add the note", "a note needs a title")
            return False
        try:
            due = parse_due(due_text)
        except ValueError as e:
            self.show_error("Could not add the note", str(e))
            return False
        # id 0: the collection chooses one.
        try:
            self.notes.insert(Note(title=title, tags=tags, due=due))
        except GLib.Error as e:
            self.show_error("Could not add the note", e.message)
            return False
        return True

    def update_note(self, note, **fields):
        try:
            self.notes.update(note.props.id, **fields)
        except GLib.Error as e:
            self.show_error("Could not change the note", e.message)
            return False
        return True

    def show_error(self, what, message):
        print("%s: %s" % (what, message), file=sys.stderr)
        if self.self_test:
            self.self_test_errors.append("%s: %s" % (what, message))
            return
        # GtkAlertDialog is 4.10; GtkMessageDialog is what 4.8 has.
        dialog = Gtk.MessageDialog(transient_for=self.edit_dialog or self.window,
                                   modal=True, message_type=Gtk.MessageType.ERROR,
                                   buttons=Gtk.ButtonsType.CLOSE, text=what,
                                   secondary_text=message)
        dialog.connect("response", lambda d, r: d.destroy())
        dialog.present()

    def edit_note(self, note):
        if self.edit_dialog is not None:
            self.edit_dialog.finish()
        self.edit_dialog = EditDialog(self, note)
        self.edit_dialog.present()

    def on_edit_dialog_closed(self, dialog):
        if self.edit_dialog is dialog:
            self.edit_dialog = None

    # The window ---------------------------------------------------------

    def build_window(self):
        window = Gtk.ApplicationWindow(application=self, title="Notes",
                                       default_width=560, default_height=640)
        header = Gtk.HeaderBar()
        window.set_titlebar(header)

        self.starred_button = Gtk.ToggleButton(tooltip_text="Show the starred notes only")
        content = Gtk.Box(spacing=6)
        content.append(Gtk.Image(icon_name="starred-symbolic"))
        content.append(Gtk.Label(label="Starred only"))
        self.starred_button.set_child(content)
        self.starred_button.connect("toggled", self.on_starred_only_toggled)
        header.pack_end(self.starred_button)

        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
        window.set_child(box)

        self.search_entry = Gtk.SearchEntry(placeholder_text="Search titles",
                                            margin_start=12, margin_end=12,
                                            margin_top=12, margin_bottom=6)
        self.search_entry.connect("search-changed", self.on_search_changed)
        self.search_entry.connect("stop-search",
                                  lambda e: e.set_text(""))
        self.search_entry.set_key_capture_widget(window)
        box.append(self.search_entry)

        # The query (search, order) is netdb's; "Starred only" is GTK's,
        # stacked above it.
        self.starred_filter = Gtk.CustomFilter.new(self.starred_match)
        self.filter_model = Gtk.FilterListModel(filter=self.starred_filter)
        # The model is set after the constructor: the filter reads the
        # notes, and a Note made from C (read from disk) while PyGObject is
        # still constructing a Python object gets that object's wrapper.
        self.filter_model.set_model(self.query)
        factory = Gtk.SignalListItemFactory()
        factory.connect("setup", self.on_setup_row)
        factory.connect("bind", self.on_bind_row)
        factory.connect("unbind", self.on_unbind_row)
        factory.connect("teardown", self.on_teardown_row)
        self.list_view = Gtk.ListView(model=Gtk.NoSelection(model=self.filter_model),
                                      factory=factory)
        self.list_view.add_css_class("rich-list")
        self.list_view.connect("activate", self.on_row_activated)
        scrolled = Gtk.ScrolledWindow(vexpand=True,
                                      hscrollbar_policy=Gtk.PolicyType.NEVER)
        scrolled.set_child(self.list_view)
        box.append(scrolled)

        bottom = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6,
                         margin_start=12, margin_end=12, margin_top=6,
                         margin_bottom=12)
        box.append(bottom)
        add_bar = Gtk.Box(spacing=6)
        bottom.append(add_bar)
        self.title_entry = Gtk.Entry(placeholder_text="New note… #tags",
                                     hexpand=True)
        self.title_entry.connect("activate", self.on_add)
        add_bar.append(self.title_entry)
        self.due_entry = Gtk.Entry(placeholder_text="Due YYYY-MM-DD",
                                   width_chars=14, max_width_chars=14)
        self.due_entry.connect("activate", self.on_add)
        add_bar.append(self.due_entry)
        self.add_button = Gtk.Button(label="Add")
        self.add_button.add_css_class("suggested-action")
        self.add_button.connect("clicked", self.on_add)
        add_bar.append(self.add_button)

        self.count_label = Gtk.Label(xalign=0.0)
        self.count_label.add_css_class("dim-label")
        bottom.append(self.count_label)
        self.query.connect("notify::n-items", self.update_count)
        self.filter_model.connect("items-changed", self.update_count)
        self.update_count()
        return window

    def starred_match(self, note):
        return not self.starred_only or note.props.starred

    def update_count(self, *args):
        total = self.query.get_n_items()
        shown = self.filter_model.get_n_items()
        noun = "note" if total == 1 else "notes"
        if shown == total:
            text = "%d %s" % (total, noun)
        else:
            text = "%d of %d %s" % (shown, total, noun)
        self.count_label.set_label(text)

    def on_setup_row(self, factory, list_item):
        row = NoteRow(self)
        self.rows.append(row)
        list_item.set_child(row)

    def on_bind_row(self, factory, list_item):
        list_item.get_child().bind(list_item)

    def on_unbind_row(self, factory, list_item):
        list_item.get_child().unbind()

    def on_teardown_row(self, factory, list_item):
        row = list_item.get_child()
        if row in self.rows:
            self.rows.remove(row)

    def on_row_activated(self, list_view, position):
        note = self.filter_model.get_item(position)
        if note is not None:
            self.edit_note(note)

    def on_add(self, widget):
        if self.add_note(self.title_entry.get_text(), self.due_entry.get_text()):
            self.title_entry.set_text("")
            self.due_entry.set_text("")
            self.title_entry.grab_focus()

    def on_search_changed(self, entry):
        # A new filter for the live query: it updates by a minimal diff.
        self.query.set_filter(self.query_filter(entry.get_text().strip()))

    def on_starred_only_toggled(self, button):
        self.starred_only = button.get_active()
        self.starred_filter.changed(Gtk.FilterChange.MORE_STRICT
                                    if self.starred_only
                                    else Gtk.FilterChange.LESS_STRICT)
        self.update_count()

    # The GApplication ----------------------------------------------------

    def do_activate(self):
        if self.window is not None:
            self.window.present()
            return
        try:
            self.open_db()
        except GLib.Error as e:
            print("notes: %s" % e.message, file=sys.stderr)
            self.failed = True
            self.quit()
            return
        css = Gtk.CssProvider()
        try:
            css.load_from_data(CSS)                 # GTK 4.8
        except TypeError:
            css.load_from_data(CSS.decode(), -1)    # GTK 4.10 and later
        Gtk.StyleContext.add_provider_for_display(
            Gdk.Display.get_default(), css,
            Gtk.STYLE_PROVIDER_PRIORITY_APPLICATION)
        self.window = self.build_window()
        self.window.present()
        self.title_entry.grab_focus()
        if self.self_test:
            GLib.idle_add(self.run_self_test)

    def do_shutdown(self):
        if self.db is not None:
            try:
                self.db.close()
            except GLib.Error as e:
                print("Could not close the database: %s" % e.message,
                      file=sys.stderr)
        Gtk.Application.do_shutdown(self)

    # The self-test ---------------------------------------------------------

    def run_self_test(self):
        self.self_test_ok = True
        self.self_test_errors = []
        try:
            SelfTest(self).run()
        except Exception:
            traceback.print_exc()
            print("not ok the self-test raised an exception")
            self.self_test_ok = False
        print("# self-test passed" if self.self_test_ok
              else "# self-test FAILED")
        self.self_test_done = True
        self.quit()
        return GLib.SOURCE_REMOVE


class SelfTest:
    """Drives the window through its widgets and checks what the list
    shows (the rows' labels, not only the models)."""

    def __init__(self, app):
        self.app = app
        self.context = GLib.MainContext.default()

    def check(self, ok, what, detail=None):
        print("%s %s" % ("ok" if ok else "not ok", what))
        if not ok:
            if detail:
                print("#   %s" % detail)
            self.app.self_test_ok = False
        return ok

    def wait_until(self, condition, what):
        """Iterates the main context until condition() holds; False on
        timeout, so a broken app fails instead of hanging."""
        deadline = time.monotonic() + SELF_TEST_TIMEOUT_SECONDS
        # A tick, so an iteration never blocks past the deadline.
        tick = GLib.timeout_add(50, lambda: GLib.SOURCE_CONTINUE)
        try:
            while not condition():
                if time.monotonic() > deadline:
                    print("# timed out waiting for %s" % what)
                    return False
                self.context.iteration(True)
        finally:
            GLib.source_remove(tick)
        return True

    def settle(self, ms):
        done = []

        def on_timeout():
            done.append(True)
            return GLib.SOURCE_REMOVE

        GLib.timeout_add(ms, on_timeout)
        self.wait_until(lambda: done, "a pause")

    def shown_rows(self):
        """The rows the list view shows, in order."""
        rows = [row for row in self.app.rows
                if row.note is not None and row.get_mapped()]
        return sorted(rows, key=lambda row: row.list_item.get_position())

    def shown_titles(self):
        return [row.title_label.get_label() for row in self.shown_rows()]

    def expect_titles(self, expected, what):
        """Waits for the rows to show @expected, and checks that they do."""
        self.wait_until(lambda: self.shown_titles() == expected, what)
        shown = self.shown_titles()
        return self.check(shown == expected, what,
                          "shown %r, expected %r" % (shown, expected))

    def row(self, title):
        for row in self.shown_rows():
            if row.title_label.get_label() == title:
                return row
        return None

    def add(self, text, due):
        app = self.app
        app.title_entry.set_text(text)
        app.due_entry.set_text(due)
        app.add_button.emit("clicked")

    def set_search(self, text):
        self.app.search_entry.set_text(text)

    def note(self, title):
        found = self.app.notes.find_first(title=title)
        return found

    def run(self):
        app = self.app
        self.check(self.wait_until(lambda: app.window.get_mapped(),
                                   "the window to map"), "the window is mapped")
        self.check(app.query.props.report_updates,
                   "the query reports in-place changes to the filter above")
        self.expect_titles(["Read the GTK docs", "Renew passport"],
                           "the notes on disk are listed, by due date")
        row = self.row("Renew passport")
        self.check(row is not None and row.detail_label.get_label() == "#admin"
                   and row.due_label.get_label() == "Fri 15 Jan 2027",
                   "a row read from disk shows the tags and the due date",
                   row and (row.detail_label.get_label(), row.due_label.get_label()))

        # Adding: the bar's entries and button; "#words" become tags.
        self.add("Buy milk #shopping", "2026-12-08")
        self.check(app.title_entry.get_text() == "" and app.due_entry.get_text() == "",
                   "the add bar is cleared after adding")
        self.expect_titles(["Read the GTK docs", "Buy milk", "Renew passport"],
                           "adding shows the note in its place")
        row = self.row("Buy milk")
        self.check(row is not None and row.detail_label.get_label() == "#shopping"
                   and row.due_label.get_label() == "Tue 8 Dec 2026",
                   "the row shows the tags and the due date",
                   row and (row.detail_label.get_label(), row.due_label.get_label()))

        self.add("Write the quarterly report #work", "2026-12-20")
        self.add("Call mum", "2026-12-10")
        self.add("Oat milk for the guests #shopping #party", "2026-12-24")
        self.add("", "2026-12-01")
        self.add("Bad date", "2026-02-30")
        self.check(app.self_test_errors
                   == ["Could not add the note: a note needs a title",
                       "Could not add the note: day is out of range for month"],
                   "a note without a title or with a bad date is refused",
                   app.self_test_errors)
        del app.self_test_errors[:]
        app.title_entry.set_text("")
        app.due_entry.set_text("")
        # Sorted by due date: the query's order_by on the ordered index.
        by_due = ["Read the GTK docs", "Buy milk", "Call mum",
                  "Write the quarterly report", "Oat milk for the guests",
                  "Renew passport"]
        self.expect_titles(by_due, "the notes are listed by due date, "
                                   "no due date first")
        self.check(app.count_label.get_label() == "6 notes", "the count says 6 notes",
                   app.count_label.get_label())

        # Search as you type: a new condition in the query's filter.
        self.set_search("MILK")
        self.expect_titles(["Buy milk", "Oat milk for the guests"],
                           "searching \"MILK\" shows the matching titles "
                           "(case-insensitive)")
        self.check(app.query.get_n_items() == 2,
                   "the search is done by the query, not by GTK")
        self.add("Almond milk #shopping", "2026-12-09")
        self.add("Book the dentist", "2026-12-11")
        self.expect_titles(["Buy milk", "Almond milk", "Oat milk for the guests"],
                           "a matching new note joins the results in due order")
        self.set_search("milk f")
        self.expect_titles(["Oat milk for the guests"],
                           "typing more narrows the results")
        self.set_search("")
        by_due = ["Read the GTK docs", "Buy milk", "Almond milk", "Call mum",
                  "Book the dentist", "Write the quarterly report",
                  "Oat milk for the guests", "Renew passport"]
        self.expect_titles(by_due, "clearing the search shows every note")

        # Starring through a row's star button.
        row = self.row("Call mum")
        if row is not None:
            row.star_button.set_active(True)
        self.wait_until(lambda: self.note("Call mum").props.starred,
                        "the star to be stored")
        self.check(self.note("Call mum").props.starred,
                   "the star button stars the note")
        self.check(self.shown_titles() == by_due,
                   "starring keeps the note in its place")

        # Starred only: a GtkFilterListModel over the live query.
        app.starred_button.set_active(True)
        self.expect_titles(["Call mum"], "\"Starred only\" shows the starred note")
        self.check(app.count_label.get_label() == "1 of 8 notes",
                   "the count says 1 of 8 notes", app.count_label.get_label())
        # A note starred elsewhere (another window, a replica) while the
        # filter is on comes in: report-updates told the filter model.
        app.notes.update(self.note("Renew passport").props.id, starred=True)
        self.expect_titles(["Call mum", "Renew passport"],
                           "a note starred while \"Starred only\" is on appears")
        app.notes.update(self.note("Buy milk").props.id, starred=True)
        self.expect_titles(["Buy milk", "Call mum", "Renew passport"],
                           "it appears in its place by due date")
        # Unstarring through the row's button while the filter is on.
        row = self.row("Call mum")
        if row is not None:
            row.star_button.set_active(False)
        self.expect_titles(["Buy milk", "Renew passport"],
                           "a note unstarred while \"Starred only\" is on "
                           "goes away")
        self.check(not self.note("Call mum").props.starred,
                   "the unstar is stored")
        # Search and starred only together.
        self.set_search("milk")
        self.expect_titles(["Buy milk"], "search and \"Starred only\" combine")
        self.set_search("")
        app.starred_button.set_active(False)
        self.expect_titles(by_due, "turning \"Starred only\" off shows every note")

        # Editing a title: the dialog of a row's edit button.
        row = self.row("Call mum")
        if row is not None:
            row.edit_button.emit("clicked")
        self.check(self.wait_until(lambda: app.edit_dialog is not None
                                   and app.edit_dialog.get_mapped(),
                                   "the edit dialog"),
                   "the edit button opens the dialog")
        dialog = app.edit_dialog
        if dialog is not None:
            self.check(dialog.title_entry.get_text() == "Call mum"
                       and dialog.due_entry.get_text() == "2026-12-10",
                       "the dialog shows the note's fields")
            dialog.title_entry.set_text("Call mum about Sunday lunch")
            dialog.tags_entry.set_text("family, #phone")
            dialog.body_view.get_buffer().set_text("She asked about the roast.\n"
                                                   "Bring wine.", -1)
            dialog.save_button.emit("clicked")
        self.check(self.wait_until(lambda: app.edit_dialog is None,
                                   "the dialog to close"),
                   "saving closes the dialog")
        by_due[by_due.index("Call mum")] = "Call mum about Sunday lunch"
        self.expect_titles(by_due, "the new title shows in the same place")
        row = self.row("Call mum about Sunday lunch")
        self.check(row is not None and row.detail_label.get_label()
                   == "#family #phone  ·  She asked about the roast.",
                   "the row shows the new tags and the body's first line",
                   row and row.detail_label.get_label())

        # Editing a due date moves the note; a bad date is refused.
        row = self.row("Read the GTK docs")
        if row is not None:
            row.edit_button.emit("clicked")
        self.wait_until(lambda: app.edit_dialog is not None
                        and app.edit_dialog.get_mapped(), "the edit dialog")
        dialog = app.edit_dialog
        if dialog is not None:
            dialog.due_entry.set_text("2026-13-01")
            dialog.save_button.emit("clicked")
            self.check(app.edit_dialog is dialog and len(app.self_test_errors) == 1,
                       "a bad due date keeps the dialog open",
                       app.self_test_errors)
            del app.self_test_errors[:]
            dialog.due_entry.set_text("2026-12-21")
            dialog.save_button.emit("clicked")
        self.wait_until(lambda: app.edit_dialog is None, "the dialog to close")
        by_due = ["Buy milk", "Almond milk", "Call mum about Sunday lunch",
                  "Book the dentist", "Write the quarterly report",
                  "Read the GTK docs", "Oat milk for the guests",
                  "Renew passport"]
        self.expect_titles(by_due, "a new due date moves the note to its place")
        dues = [usec(note.props.due) for note in app.query]
        self.check(dues == sorted(dues), "the query's notes are in due order")
        row = self.row("Read the GTK docs")
        self.check(row is not None and row.due_label.get_label() == "Mon 21 Dec 2026",
                   "the row shows the new due date",
                   row and row.due_label.get_label())

        # Activating a row (double click, Enter) opens its dialog too.
        app.list_view.emit("activate", 0)
        self.check(app.edit_dialog is not None
                   and app.edit_dialog.note.props.title == "Buy milk",
                   "activating a row opens its dialog")
        if app.edit_dialog is not None:
            app.edit_dialog.cancel_button.emit("clicked")
        self.wait_until(lambda: app.edit_dialog is None, "the dialog to close")

        self.check(app.self_test_errors == [], "no other error was shown",
                   app.self_test_errors)
        self.settle(300)
        screenshot = os.environ.get("NETDB_EXAMPLE_SCREENSHOT") or "notes.png"
        self.check(self.save_screenshot(screenshot), "the screenshot is saved")

    def save_screenshot(self, path):
        """Renders the window (GtkWidgetPaintable → GtkSnapshot →
        gsk_renderer_render_texture) to a PNG, as the C example does."""
        window = self.app.window
        width = window.get_width()
        height = window.get_height()
        paintable = Gtk.WidgetPaintable.new(window)
        snapshot = Gtk.Snapshot.new()
        paintable.snapshot(snapshot, width, height)
        renderer = window.get_renderer()
        # The render node goes through ctypes: PyGObject 3.42 (Debian 12)
        # cannot hand a GskRenderNode (a GTypeInstance that is no GObject)
        # to Python, and a failed snapshot.to_node() has consumed the
        # snapshot.
        saved = render_to_png(snapshot, renderer, width, height, path)
        if saved:
            print("# screenshot (%dx%d, %s) saved to %s"
                  % (width, height, type(renderer).__name__, path))
        return saved


def render_to_png(snapshot, renderer, width, height, path):
    """gtk_snapshot_to_node (@snapshot) rendered by @renderer into a
    texture saved as a PNG at @path, in C through ctypes: the node never
    reaches Python."""
    import ctypes

    gi.require_version("GIRepository", "2.0")
    from gi.repository import GIRepository

    capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    capsule_pointer.restype = ctypes.c_void_p
    capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

    def pointer(obj):
        return ctypes.c_void_p(capsule_pointer(obj.__gpointer__, None))

    class GrapheneRect(ctypes.Structure):
        _fields_ = [("x", ctypes.c_float), ("y", ctypes.c_float),
                    ("width", ctypes.c_float), ("height", ctypes.c_float)]

    library = GIRepository.Repository.get_default().get_shared_library("Gtk")
    gtk = ctypes.CDLL(library.split(",")[0])
    gtk.gtk_snapshot_to_node.restype = ctypes.c_void_p
    gtk.gtk_snapshot_to_node.argtypes = [ctypes.c_void_p]
    gtk.gsk_renderer_render_texture.restype = ctypes.c_void_p
    gtk.gsk_renderer_render_texture.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                                ctypes.POINTER(GrapheneRect)]
    gtk.gdk_texture_save_to_png.restype = ctypes.c_int
    gtk.gdk_texture_save_to_png.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    gtk.gsk_render_node_unref.argtypes = [ctypes.c_void_p]
    gtk.g_object_unref.argtypes = [ctypes.c_void_p]

    node = gtk.gtk_snapshot_to_node(pointer(snapshot))
    if not node:
        return False
    rect = GrapheneRect(0, 0, width, height)
    texture = gtk.gsk_renderer_render_texture(pointer(renderer), node,
                                              ctypes.byref(rect))
    gtk.gsk_render_node_unref(node)
    if not texture:
        return False
    saved = gtk.gdk_texture_save_to_png(texture, os.fsencode(path))
    gtk.g_object_unref(texture)
    return bool(saved)


def seed_self_test_db(path):
    with Net.Db.new(path, Net.DbModels.NONE) as db:
        notes = db.open_collection("notes", Note, indexes=["due"],
                                   search=["title"])
        notes.insert(Note(title="Renew passport", tags=["admin"],
                          due=parse_due("2027-01-15")))
        notes.insert(Note(title="Read the GTK docs", tags=["work"]))


def usec(due):
    """A due date in microseconds since the epoch; no date sorts first."""
    if due is None:
        return -(1 << 63)
    return due.to_unix() * 1000000 + due.get_microsecond()


def main(argv):
    parser = argparse.ArgumentParser(
        prog="notes.py", description="Notes, on a netdb collection.")
    parser.add_argument("directory", nargs="?",
                        help="the database directory (default: %s)"
                        % os.path.join(GLib.get_user_data_dir(), DB_DIR_NAME))
    parser.add_argument("-m", "--memory", action="store_true",
                        help="keep the notes in memory instead of on disk")
    parser.add_argument("--self-test", action="store_true",
                        default=os.environ.get("NETDB_EXAMPLE_SELF_TEST") == "1",
                        help="drive the window, check it, save a screenshot "
                        "and exit")
    args = parser.parse_args(argv[1:])

    temporary = None
    if args.self_test:
        # Never the user's notes: a new database in a temporary directory,
        # with notes written (and the db closed) before the app opens it,
        # so that the first rows are records read back from disk.
        temporary = tempfile.mkdtemp(prefix="netdb-notes-self-test-")
        args.directory = os.path.join(temporary, "db")
        args.memory = False
        seed_self_test_db(args.directory)

    app = NotesApp(args)
    # Ctrl-C or a logout: quit through the application, so shutdown closes
    # (and checkpoints) the db.
    for signum in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, app.quit)
    status = app.run(argv[:1])
    if status == 0 and (app.failed or (app.self_test and not (
            app.self_test_done and app.self_test_ok))):
        status = 1
    if temporary is not None:
        shutil.rmtree(temporary, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
