"""In-memory object store of the simulated API server.

Objects are plain dicts, never mutated once stored (writers store a modified
copy). A single global, monotonically increasing resourceVersion stamps every
write. Watchers get events through asyncio queues; a bounded history lets a
watch resume from a recent resourceVersion.
"""

import asyncio
import collections

from . import resources

HISTORY_SIZE = 50000


class Event:
    __slots__ = ("rv", "type", "key", "obj", "old")

    def __init__(self, rv, type_, key, obj, old):
        self.rv = rv
        self.type = type_
        self.key = key
        self.obj = obj
        self.old = old


class Watcher:
    """One watch request: a resource, an optional namespace and selectors."""

    def __init__(self, rt, namespace, label_selector, field_selector):
        self.rt = rt
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.queue = asyncio.Queue()
        self.closed = False

    def matches(self, obj):
        if obj is None:
            return False
        meta = obj.get("metadata") or {}
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        if not self.label_selector.matches(meta.get("labels") or {}):
            return False
        return self.field_selector.matches(self.rt.selectable_fields(obj))

    def translate(self, event):
        """Map a store event to what this watcher sees (or None)."""
        if event.key != self.rt.key:
            return None
        new_ok = self.matches(event.obj)
        if event.type == "DELETED":
            return ("DELETED", event.obj) if new_ok else None
        old_ok = self.matches(event.old) if event.old is not None else False
        if event.type == "ADDED":
            return ("ADDED", event.obj) if new_ok else None
        if new_ok and old_ok:
            return ("MODIFIED", event.obj)
        if new_ok:
            return ("ADDED", event.obj)
        if old_ok:
            return ("DELETED", event.obj)
        return None

    def offer(self, event):
        if self.closed:
            return
        out = self.translate(event)
        if out is not None:
            self.queue.put_nowait(out)

    def close(self):
        self.closed = True
        self.queue.put_nowait(None)


class Store:
    def __init__(self):
        self.rv = 1
        self.data = {rt.key: {} for rt in resources.RESOURCES}
        self.uids = {}
        self.history = collections.deque(maxlen=HISTORY_SIZE)
        self.history_floor = 0
        self.watchers = set()
        self.listeners = []

    # ------------------------------------------------------------- reads
    def get(self, rt, namespace, name):
        return self.data[rt.key].get((namespace or "", name))

    def list(self, rt, namespace=None):
        bucket = self.data[rt.key]
        if namespace:
            items = [obj for (ns, _), obj in bucket.items() if ns == namespace]
        else:
            items = list(bucket.values())
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items

    def by_uid(self, uid):
        ref = self.uids.get(uid)
        if ref is None:
            return None, None
        key, ns, name = ref
        rt = resources.get(key)
        return rt, self.data[key].get((ns, name))

    # ------------------------------------------------------------- writes
    def next_rv(self):
        self.rv += 1
        return self.rv

    def _emit(self, type_, rt, obj, old):
        if len(self.history) == self.history.maxlen:
            self.history_floor = self.history[0].rv
        event = Event(self.rv, type_, rt.key, obj, old)
        self.history.append(event)
        for watcher in list(self.watchers):
            watcher.offer(event)
        for listener in self.listeners:
            listener(event)

    def put(self, rt, obj):
        """Store ``obj`` (a fresh dict owned by the store from now on)."""
        meta = obj["metadata"]
        key = (meta.get("namespace", "") if rt.namespaced else "", meta["name"])
        old = self.data[rt.key].get(key)
        meta["resourceVersion"] = str(self.next_rv())
        self.data[rt.key][key] = obj
        self.uids[meta["uid"]] = (rt.key, key[0], key[1])
        self._emit("MODIFIED" if old is not None else "ADDED", rt, obj, old)
        return obj

    def remove(self, rt, namespace, name):
        key = (namespace or "" if rt.namespaced else "", name)
        old = self.data[rt.key].pop(key, None)
        if old is None:
            return None
        self.uids.pop(old["metadata"].get("uid"), None)
        gone = dict(old)
        gone["metadata"] = dict(old["metadata"])
        gone["metadata"]["resourceVersion"] = str(self.next_rv())
        self._emit("DELETED", rt, gone, old)
        return gone

    # ------------------------------------------------------------- watch
    def add_watcher(self, watcher, since_rv):
        """Register ``watcher``; replay events newer than ``since_rv``.

        Returns False when ``since_rv`` is older than the kept history."""
        if since_rv is not None and since_rv < self.history_floor:
            return False
        if since_rv is not None:
            for event in self.history:
                if event.rv > since_rv:
                    watcher.offer(event)
        self.watchers.add(watcher)
        return True

    def remove_watcher(self, watcher):
        self.watchers.discard(watcher)

    def close_watchers(self):
        for watcher in list(self.watchers):
            watcher.close()
        self.watchers.clear()
