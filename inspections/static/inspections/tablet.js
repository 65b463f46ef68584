/* The inspectors' tablet pages: record findings and photos with or without a connection.

   Every finding and photo gets its id here (crypto.randomUUID) and waits in IndexedDB until the server has
   confirmed it. Sending is through the API: findings by batch (200 = already stored, 201 = stored, 409 = the
   server holds something else under this id), photos one by one after their finding. Sending again is always
   harmless, so a lost answer costs nothing: the next sync sends the same ids and the server answers 200.

   One finding per checklist item and visit: while it has never been sent, a change edits it in place (same
   id). Once it may have reached the server, it is never changed (the server keeps findings as they came):
   a change becomes a new finding with a new id: the inspector's latest counts (selectors' THE RULE).
   A finding here is always this inspector's own: a colleague's finding on the same item is shown beside it (with
   who and when) and never copied, so nobody's note goes out under another's name. Different results are flagged
   on both tablets and wait for the lead's review, whose notes come back here.
   Whether the server answers is asked (a ping with a short timeout), not guessed from navigator.onLine. Sync runs
   when a page loads, within seconds of the connection returning (the "online" event, then pings until the server
   answers), on a timer while something waits, and on the "Sync" button. Camera photos are scaled to
   CONFIG.photo_max_side and re-encoded as JPEG before they are queued (their EXIF time and position kept). */
(function () {
  "use strict";

  const root = document.getElementById("tablet-page");
  const configNode = document.getElementById("tablet-config");
  if (!root || !configNode) return;
  const CONFIG = JSON.parse(configNode.textContent);
  const M = CONFIG.messages;
  const USER = CONFIG.user;
  const TARGET = CONFIG.page === "target" ? CONFIG.target : null;
  const KEEP_DAYS = 30;
  const POSITION_MAX_AGE_MS = 5 * 60 * 1000;
  const NOTE_DELAY_MS = 700;
  const RETRY_MS = 15 * 1000; // with something waiting, ask the server this often and sync when it answers
  const RECONNECT_TRY_MS = 1500; // after an "online" event, ask the server this often until it answers
  const RECONNECT_FOR_MS = 60 * 1000; // ... for at most this long (then the timer takes over)
  const PHOTO_LANES = 2; // photo uploads at once
  const SYNC_SOON_MS = 8000; // a change made while the server answers is sent this long after the last one
  const REFRESH_MS = 60 * 1000; // colleagues' findings and the lead's review: read again this often

  const $ = (id) => document.getElementById(id);
  const fmt = (text, values) => text.replace(/%\((\w+)\)s/g, (all, key) => (key in values ? String(values[key]) : all));
  const time = (iso) => new Date(iso).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" });
  const later = (a, b) => Date.parse(a.device_time) - Date.parse(b.device_time);

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // --- IndexedDB ----------------------------------------------------------------------------------------

  const DB_NAME = "sttt-inspections";
  let dbOpening = null;

  function db() {
    if (!dbOpening) {
      dbOpening = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => {
          const base = request.result;
          const findings = base.createObjectStore("findings", { keyPath: "uuid" });
          findings.createIndex("user", "user");
          const photos = base.createObjectStore("photos", { keyPath: "uuid" });
          photos.createIndex("user", "user");
          base.createObjectStore("meta", { keyPath: "key" });
        };
        request.onsuccess = () => {
          const base = request.result;
          base.onversionchange = () => base.close();
          resolve(base);
        };
        request.onerror = () => reject(request.error);
      });
    }
    return dbOpening;
  }

  const asPromise = (request) => new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

  async function transact(stores, mode, work) {
    const base = await db();
    return new Promise((resolve, reject) => {
      const tx = base.transaction(stores, mode);
      let result;
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("aborted"));
      Promise.resolve().then(() => work(tx)).then((value) => { result = value; }, (error) => {
        try { tx.abort(); } catch (ignored) { /* already finished */ }
        reject(error);
      });
    });
  }

  const mine = (store) => transact([store], "readonly", (tx) => asPromise(tx.objectStore(store).index("user").getAll(USER)));
  const getOne = (store, key) => transact([store], "readonly", (tx) => asPromise(tx.objectStore(store).get(key)));
  const putAll = (store, rows) => transact([store], "readwrite", (tx) => {
    rows.forEach((row) => tx.objectStore(store).put(row));
  });

  // Writes go one after the other, across the tabs of this tablet too (Web Locks), so that a change and a
  // sync never overwrite each other.
  let localChain = Promise.resolve();
  function exclusive(work) {
    if (navigator.locks && navigator.locks.request) return navigator.locks.request("sttt-inspections-write", work);
    const run = localChain.then(work, work);
    localChain = run.catch(() => undefined);
    return run;
  }

  const channel = "BroadcastChannel" in window ? new BroadcastChannel("sttt-inspections") : null;
  function changed() {
    if (channel) channel.postMessage("changed");
    return render();
  }

  // --- Location --------------------------------------------------------------------------------------------

  let position = null;
  let locationText = "";

  function watchLocation() {
    const box = $("location-status");
    if (!box || !CONFIG.editable) return;
    const show = (text) => { locationText = text; box.textContent = text; };
    if (!("geolocation" in navigator)) {
      show(fmt(M.location_none, { reason: M.location_unsupported }));
      return;
    }
    show(M.location_wait);
    navigator.geolocation.watchPosition((found) => {
      position = { latitude: found.coords.latitude, longitude: found.coords.longitude,
                   accuracy: found.coords.accuracy, at: Date.now() };
      show(fmt(M.location_ok, { accuracy: Math.round(found.coords.accuracy) }));
    }, (error) => {
      if (position && Date.now() - position.at < POSITION_MAX_AGE_MS) return;
      show(fmt(M.location_none, { reason: error.code === 1 ? M.location_denied : M.location_failed }));
    }, { enableHighAccuracy: true, maximumAge: 60000, timeout: 30000 });
  }

  function positionNow() {
    if (!position || Date.now() - position.at > POSITION_MAX_AGE_MS) {
      return { latitude: null, longitude: null, accuracy: null };
    }
    const round = (value, places) => Math.round(value * 10 ** places) / 10 ** places;
    return { latitude: round(position.latitude, 6), longitude: round(position.longitude, 6),
             accuracy: Number.isFinite(position.accuracy) ? Math.min(round(position.accuracy, 1), 9999999) : null };
  }

  // --- Findings and photos on this tablet -----------------------------------------------------------------

  let serverItems = new Map((CONFIG.server || []).map((entry) => [entry.item, entry]));

  // My latest finding on the item as the server holds it (a rejected one included: its note is for me).
  function serverFinding(item) {
    const entry = serverItems.get(item);
    if (!entry) return null;
    const own = [...entry.current, ...entry.replaced].filter((f) => f.inspector && f.inspector.id === USER).sort(later);
    return own.length ? { ...own[own.length - 1], fromServer: true, mine: true } : null;
  }

  // Colleagues' current findings on the item: shown, never copied into mine.
  function serverOthers(item) {
    const entry = serverItems.get(item);
    return entry ? entry.current.filter((f) => !f.inspector || f.inspector.id !== USER) : [];
  }

  async function refreshServer() {
    if (!TARGET || !CONFIG.fieldwork_url) return;
    try {
      const response = await fetch(CONFIG.fieldwork_url, { credentials: "same-origin", cache: "no-store",
                                                           headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const body = await response.json();
      serverItems = new Map(body.items.map((entry) => [entry.item, entry]));
      if (body.outcome) CONFIG.outcome = body.outcome;
    } catch (error) { /* no answer: what was read before stays */ }
  }

  function localCurrent(findings, item) {
    let best = null;
    for (const finding of findings) {
      if (finding.target !== TARGET || finding.item !== item) continue;
      if (!best || later(finding, best) > 0) best = finding;
    }
    return best;
  }

  // My finding that counts for an item: my latest by device time, here or on the server (never a colleague's).
  function current(findings, item) {
    const local = localCurrent(findings, item);
    const server = serverFinding(item);
    if (!local) return server;
    if (!server || server.uuid === local.uuid) return local;
    return later(server, local) > 0 ? server : local;
  }

  // While the server answers, what was just recorded goes a moment later by itself (a burst of taps is one sync).
  let soonTimer = null;
  function syncSoon() {
    if (serverState !== "up") return;
    clearTimeout(soonTimer);
    soonTimer = setTimeout(() => { soonTimer = null; sync(); }, SYNC_SOON_MS);
  }

  async function record(item, change) {
    await exclusive(async () => {
      const findings = await mine("findings");
      const now = new Date().toISOString();
      const where = positionNow();
      const present = current(findings, item);
      if (present && !present.fromServer && present.state === "pending" && !present.sent) {
        Object.assign(present, change, { device_time: now });
        if (where.latitude !== null) Object.assign(present, where);
        await putAll("findings", [present]);
        return;
      }
      // `present` is always my own finding: the note carried over is my own words, never a colleague's.
      const result = change.result || (present && present.result);
      const note = "note" in change ? change.note : (present && present.note) || "";
      if (!result) return;
      const reviewed = present && present.fromServer && present.review &&
        ["needs_correction", "rejected"].includes(present.review.state); // a correction is a new finding
      const settled = present && !reviewed && !["conflict", "rejected"].includes(present.state);
      if (settled && present.result === result && (present.note || "") === note) return; // nothing changed
      const finding = { uuid: newId(), user: USER, target: TARGET, item, result, note, ...where, device_time: now,
                        state: "pending", sent: false, created: now, replaces: present ? present.uuid : null };
      const rows = [finding];
      if (present && !present.fromServer && !settled) {
        // Refused or in conflict: the photos waiting for it go with the new finding, the old one is dropped.
        const photos = (await mine("photos")).filter((p) => p.finding === present.uuid && p.state === "pending");
        photos.forEach((photo) => { photo.finding = finding.uuid; });
        await putAll("photos", photos);
        await transact(["findings"], "readwrite", (tx) => { tx.objectStore("findings").delete(present.uuid); });
      }
      await putAll("findings", rows);
    });
    syncSoon();
    return changed();
  }

  // --- Photos made for the network ------------------------------------------------------------------------

  // The capture time and GPS position the camera wrote in a JPEG's EXIF (the scaled copy carries no metadata).
  function exifOf(buffer) {
    const found = { taken_at: null, taken_latitude: null, taken_longitude: null };
    try {
      const view = new DataView(buffer);
      if (view.getUint16(0) !== 0xffd8) return found;
      let offset = 2;
      while (offset + 4 < view.byteLength) {
        const marker = view.getUint16(offset);
        const size = view.getUint16(offset + 2);
        if (marker === 0xffe1 && view.getUint32(offset + 4) === 0x45786966) { readTiff(view, offset + 10, found); break; }
        if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) break;
        offset += 2 + size;
      }
    } catch (error) { /* a damaged header: no metadata */ }
    return found;
  }

  function readTiff(view, start, found) {
    const little = view.getUint16(start) === 0x4949;
    const u16 = (at) => view.getUint16(start + at, little);
    const u32 = (at) => view.getUint32(start + at, little);
    const ifd = (at) => {
      const tags = new Map();
      const count = u16(at);
      for (let i = 0; i < count; i += 1) {
        const entry = at + 2 + i * 12;
        tags.set(u16(entry), { type: u16(entry + 2), count: u32(entry + 4), value: entry + 8 });
      }
      return tags;
    };
    const ascii = (tag) => {
      const where = tag.count > 4 ? u32(tag.value) : tag.value;
      let text = "";
      for (let i = 0; i < tag.count - 1; i += 1) text += String.fromCharCode(view.getUint8(start + where + i));
      return text;
    };
    const rationals = (tag) => {
      const where = u32(tag.value);
      return [0, 1, 2].map((i) => u32(where + i * 8) / (u32(where + i * 8 + 4) || 1));
    };
    const zero = ifd(u32(4));
    const exifPointer = zero.get(0x8769);
    const exif = exifPointer ? ifd(u32(exifPointer.value)) : new Map();
    const stamp = exif.get(0x9003) || zero.get(0x0132);
    if (stamp) {
      const match = /^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})/.exec(ascii(stamp));
      if (match) {
        const local = new Date(+match[1], +match[2] - 1, +match[3], +match[4], +match[5], +match[6]);
        if (!Number.isNaN(local.getTime())) found.taken_at = local.toISOString(); // camera time is the tablet's zone
      }
    }
    const gpsPointer = zero.get(0x8825);
    if (gpsPointer) {
      const gps = ifd(u32(gpsPointer.value));
      const degrees = (ref, tag) => {
        if (!gps.get(ref) || !gps.get(tag)) return null;
        const [d, m, sec] = rationals(gps.get(tag));
        const sign = ["S", "W"].includes(String.fromCharCode(view.getUint8(start + gps.get(ref).value))) ? -1 : 1;
        return Math.round(sign * (d + m / 60 + sec / 3600) * 1e6) / 1e6;
      };
      found.taken_latitude = degrees(1, 2);
      found.taken_longitude = degrees(3, 4);
    }
  }

  // A camera photo (4000×3000, several MB) scaled to at most CONFIG.photo_max_side on its longer side, upright
  // (EXIF orientation applied), as JPEG at CONFIG.photo_quality. A file the browser cannot decode goes as it is
  // (the server decides).
  async function preparePhoto(file) {
    const original = await file.arrayBuffer();
    const meta = exifOf(original);
    const base = { data: original, type: file.type || "image/jpeg", size: file.size, original_size: file.size, ...meta };
    if (!window.createImageBitmap) return base;
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (error) {
      return base;
    }
    const longer = Math.max(bitmap.width, bitmap.height);
    const scale = Math.min(1, CONFIG.photo_max_side / longer);
    const width = Math.round(bitmap.width * scale);
    const height = Math.round(bitmap.height * scale);
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", CONFIG.photo_quality));
    if (!blob || (scale === 1 && blob.size >= file.size && /jpe?g/.test(base.type))) return { ...base, width, height };
    return { ...base, data: await blob.arrayBuffer(), type: "image/jpeg", size: blob.size, width, height };
  }

  async function addPhotos(item, files) {
    showItemNote(item, M.photo_scaling);
    const prepared = [];
    for (const file of files) prepared.push({ name: file.name || "photo.jpg", ...(await preparePhoto(file)) });
    const photoOnly = Boolean(CONFIG.items && CONFIG.items[String(item)] && CONFIG.items[String(item)].photo_only);
    if (photoOnly && !current(await mine("findings"), item)) await record(item, { result: "photo" });
    const added = await exclusive(async () => {
      const present = current(await mine("findings"), item);
      if (!present) return 0;
      const now = new Date().toISOString();
      const rows = prepared.map((photo) => ({ uuid: newId(), user: USER, target: TARGET, item, finding: present.uuid,
                                              ...photo, state: "pending", sent: false, added: now }));
      await putAll("photos", rows);
      return rows.length;
    });
    if (!added) showItemNote(item, M.photo_first_result);
    else syncSoon();
    return changed();
  }

  async function prune() {
    const limit = Date.now() - KEEP_DAYS * 24 * 3600 * 1000;
    await exclusive(async () => {
      const old = (rows) => rows.filter((r) => r.state === "synced" && Date.parse(r.synced_at || r.created || r.added) < limit);
      const findings = old(await mine("findings"));
      const photos = old(await mine("photos"));
      if (!findings.length && !photos.length) return;
      await transact(["findings", "photos"], "readwrite", (tx) => {
        findings.forEach((f) => tx.objectStore("findings").delete(f.uuid));
        photos.forEach((p) => tx.objectStore("photos").delete(p.uuid));
      });
    });
  }

  // --- Sync -----------------------------------------------------------------------------------------------

  function csrfToken() {
    const name = CONFIG.csrf_cookie || "csrftoken";
    for (const part of document.cookie.split(";")) {
      const [key, ...value] = part.trim().split("=");
      if (key === name) return decodeURIComponent(value.join("="));
    }
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function problemText(body) {
    if (!body || typeof body !== "object") return "";
    const parts = [];
    const walk = (value) => {
      if (typeof value === "string") parts.push(value);
      else if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === "object") Object.values(value).forEach(walk);
    };
    walk(body.errors);
    const head = body.detail || body.title || "";
    return [head, ...parts.filter((p) => p !== head)].join(" ").trim();
  }

  async function readJson(response) {
    try { return await response.json(); } catch (error) { return null; }
  }

  const payload = (f) => ({ uuid: f.uuid, target: f.target, item: f.item, result: f.result, note: f.note,
                            latitude: f.latitude, longitude: f.longitude, accuracy: f.accuracy,
                            device_time: f.device_time });

  // Apply the server's answers to the rows they are about, read again under the lock.
  async function settle(store, answers) {
    await exclusive(async () => {
      const rows = [];
      for (const [uuid, update] of answers) {
        const row = await getOne(store, uuid);
        if (row) rows.push(Object.assign(row, update));
      }
      await putAll(store, rows);
    });
  }

  // Take rows for sending: read again under the lock, still waiting, marked as sent. What is sent is exactly
  // what is stored from then on (a later change makes a new finding), never a copy read before an edit.
  async function claim(store, rows) {
    return exclusive(async () => {
      const claimed = [];
      for (const row of rows) {
        const stored = await getOne(store, row.uuid);
        if (stored && stored.state === "pending") claimed.push(Object.assign(stored, { sent: true }));
      }
      await putAll(store, claimed);
      return claimed;
    });
  }

  async function sendFindings(report) {
    const waiting = (await mine("findings")).filter((f) => f.state === "pending").sort(later);
    for (let start = 0; start < waiting.length; start += CONFIG.batch_size) {
      // From here on the server may hold them: a later change makes a new finding, never edits these.
      const chunk = await claim("findings", waiting.slice(start, start + CONFIG.batch_size));
      if (!chunk.length) continue;
      report.sent += chunk.length;
      let response;
      try {
        response = await fetch(CONFIG.urls.batch, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify({ findings: chunk.map(payload) }),
        });
      } catch (error) {
        serverState = navigator.onLine ? "down" : "offline";
        return "offline";
      }
      if (response.status === 401 || response.status === 403) return "auth";
      if (!response.ok) return response.status;
      const body = await readJson(response);
      if (!body || !Array.isArray(body.results)) return response.status;
      const now = new Date().toISOString();
      const answers = [];
      for (const answer of body.results) {
        const sent = chunk[answer.index];
        if (!sent) continue;
        if (answer.status === 200 || answer.status === 201) {
          answers.push([sent.uuid, { state: "synced", synced_at: now, answer: answer.status, problem: null }]);
          report.findings += 1;
        } else if (answer.status === 409) {
          answers.push([sent.uuid, { state: "conflict", answer: 409, problem: problemText(answer.body),
                                     stored: answer.body && answer.body.stored ? answer.body.stored : null }]);
        } else if (answer.status >= 400 && answer.status < 500) {
          answers.push([sent.uuid, { state: "rejected", answer: answer.status, problem: problemText(answer.body) }]);
        } // a server error: the finding stays waiting and goes again next time
      }
      await settle("findings", answers);
    }
    return "ok";
  }

  // Photos go PHOTO_LANES at a time: on a slow link with a long round trip, one upload's request and answer
  // overlap the other's transfer instead of leaving the link idle (docs/PERFORMANCE.md, "Field sync").
  async function sendPhotos(report) {
    const findings = new Map((await mine("findings")).map((f) => [f.uuid, f]));
    const waiting = (await mine("photos")).filter((p) => p.state === "pending").sort((a, b) => (a.added < b.added ? -1 : 1))
      .filter((p) => { const owner = findings.get(p.finding); return !owner || owner.state === "synced"; }); // its finding first
    let next = 0;
    let stop = null;
    const lane = async () => {
      while (!stop && next < waiting.length) {
        const outcome = await sendPhoto(waiting[next++], report);
        if (outcome !== "ok") stop = stop || outcome;
      }
    };
    await Promise.all(Array.from({ length: PHOTO_LANES }, lane));
    return stop || "ok";
  }

  async function sendPhoto(candidate, report) {
    const [photo] = await claim("photos", [candidate]);
    if (!photo) return "ok";
    report.sent += 1;
    const form = new FormData();
    form.append("uuid", photo.uuid);
    form.append("finding", photo.finding);
    form.append("file", new Blob([photo.data], { type: photo.type }), photo.name);
    for (const key of ["taken_at", "taken_latitude", "taken_longitude"]) {
      if (photo[key] !== null && photo[key] !== undefined) form.append(key, String(photo[key]));
    }
    let response;
    try {
      response = await fetch(CONFIG.urls.photos, {
        method: "POST", credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() }, body: form,
      });
    } catch (error) {
      serverState = navigator.onLine ? "down" : "offline";
      return "offline";
    }
    const body = await readJson(response);
    const now = new Date().toISOString();
    if (response.status === 200 || response.status === 201) {
      // Confirmed: the file itself is no longer needed on the tablet.
      await settle("photos", [[photo.uuid, { state: "synced", synced_at: now, data: null, answer: response.status,
                                             server_uuid: body && body.uuid ? body.uuid : photo.uuid }]]);
      report.photos += 1;
    } else if (response.status === 401 || (response.status === 403 && !(body && body.code === "not_on_team"))) {
      return "auth";
    } else if (response.status === 409 && body && body.code === "finding_not_received") {
      return "ok"; // the finding is not there yet: the photo waits
    } else if (response.status === 409) {
      await settle("photos", [[photo.uuid, { state: "conflict", answer: 409, problem: problemText(body) }]]);
    } else if (response.status >= 400 && response.status < 500) {
      await settle("photos", [[photo.uuid, { state: "rejected", answer: response.status, problem: problemText(body) }]]);
    } else {
      return response.status;
    }
    return "ok";
  }

  const pendingNotes = new Map(); // item → timer of a note not yet saved

  async function flushNotes() {
    const items = [...pendingNotes.keys()];
    for (const item of items) {
      clearTimeout(pendingNotes.get(item));
      pendingNotes.delete(item);
      await saveNote(item);
    }
  }

  let syncing = null;
  let syncAgain = false;
  let syncMessage = "";

  function sync() {
    if (syncing) {
      syncAgain = true;
      return syncing;
    }
    syncing = (async () => {
      try {
        do {
          syncAgain = false;
          await syncOnce();
        } while (syncAgain && serverState === "up");
      } finally {
        syncing = null;
        root.classList.remove("is-syncing");
        await changed();
      }
    })();
    return syncing;
  }

  // --- Does the server answer? ------------------------------------------------------------------------------

  let serverState = "unknown"; // "up", "down" (a network but no answer), "offline" (no network), "unknown"

  async function ping() {
    if (!navigator.onLine) {
      serverState = "offline";
      return false;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), CONFIG.ping_timeout_ms);
    try {
      const response = await fetch(`${CONFIG.urls.ping}?t=${Date.now()}`, { cache: "no-store", signal: controller.signal,
                                                                            credentials: "same-origin" });
      const body = response.ok ? await readJson(response) : null;
      serverState = body && body.ok ? "up" : "down";
    } catch (error) {
      serverState = navigator.onLine ? "down" : "offline";
    } finally {
      clearTimeout(timer);
    }
    return serverState === "up";
  }

  const waitingRows = async () => [...await mine("findings"), ...await mine("photos")].some((row) => row.state === "pending");

  // After an "online" event: ask the server every RECONNECT_TRY_MS until it answers (a network that has just come
  // back often does not carry traffic yet), then sync at once.
  let reconnecting = null;
  function reconnect() {
    if (reconnecting) return reconnecting;
    reconnecting = (async () => {
      const until = Date.now() + RECONNECT_FOR_MS;
      try {
        while (Date.now() < until) {
          if (await ping()) {
            await sync();
            return;
          }
          await render();
          await new Promise((resolve) => setTimeout(resolve, RECONNECT_TRY_MS));
        }
      } finally {
        reconnecting = null;
      }
    })();
    return reconnecting;
  }

  async function syncOnce() {
    await flushNotes();
    syncMessage = "";
    if (!(await ping())) return; // the badge and the status both say why, from serverState
    root.classList.add("is-syncing");
    syncMessage = M.syncing;
    await renderStatus();
    const run = async () => {
      const report = { findings: 0, photos: 0, sent: 0 };
      let outcome = await sendFindings(report);
      if (outcome === "ok") outcome = await sendPhotos(report);
      if (outcome === "ok") await refreshServer(); // colleagues' findings, the lead's review, stored photos
      if (outcome === "ok") {
        const last = { key: `last-sync:${USER}`, at: new Date().toISOString(), ...report };
        await putAll("meta", [last]);
        syncMessage = "";
      } else if (outcome === "offline") {
        syncMessage = ""; // serverState says it
      } else if (outcome === "auth") {
        syncMessage = M.sync_auth;
      } else {
        syncMessage = fmt(M.sync_error, { status: outcome });
      }
    };
    if (navigator.locks && navigator.locks.request) await navigator.locks.request("sttt-inspections-sync", run);
    else await run();
  }

  // --- Rendering ------------------------------------------------------------------------------------------

  const thumbUrls = new Map();

  function thumb(photo) {
    if (!thumbUrls.has(photo.uuid)) thumbUrls.set(photo.uuid, URL.createObjectURL(new Blob([photo.data], { type: photo.type })));
    return thumbUrls.get(photo.uuid);
  }

  function showItemNote(item, text) {
    const box = $(`status-${item}`);
    if (box) box.textContent = text;
  }

  function resultLabel(result) {
    return CONFIG.results[result] || (result === "photo" ? M.result_photo : result) || "";
  }

  function storedSummary(stored) {
    if (!stored) return "";
    return resultLabel(stored.result) + (stored.note ? `, “${stored.note}”` : "");
  }

  async function renderStatus(findings, photos) {
    findings = findings || await mine("findings");
    photos = photos || await mine("photos");
    const net = $("net-state");
    if (net) {
      // One source for the badge and the status line below: what the last ping (or request) found.
      const state = !navigator.onLine ? "offline" : serverState;
      net.dataset.state = { up: "online", down: "down", offline: "offline" }[state] || "unknown";
      net.textContent = { up: M.online, down: M.server_down, offline: M.offline }[state] || M.checking;
    }
    const pendingFindings = findings.filter((f) => f.state === "pending").length;
    const pendingPhotos = photos.filter((p) => p.state === "pending").length;
    const count = $("pending-count");
    if (count) {
      count.textContent = fmt(M.pending, { findings: pendingFindings, photos: pendingPhotos });
      count.dataset.findings = String(pendingFindings);
      count.dataset.photos = String(pendingPhotos);
      count.classList.toggle("has-waiting", pendingFindings + pendingPhotos > 0);
    }
    const status = $("sync-status");
    if (status) {
      const last = await getOne("meta", `last-sync:${USER}`);
      let lastText = M.never_synced;
      if (last) {
        lastText = last.sent ? fmt(M.last_sync, { time: time(last.at), findings: last.findings, photos: last.photos })
          : fmt(M.last_sync_nothing, { time: time(last.at) });
      }
      const state = !navigator.onLine ? "offline" : serverState;
      const connection = { offline: M.sync_offline, down: M.sync_server_down }[state];
      status.textContent = root.classList.contains("is-syncing") ? M.syncing : (connection || syncMessage || lastText);
      status.dataset.findings = last ? String(last.findings) : "";
      status.dataset.photos = last ? String(last.photos) : "";
    }
    const problems = $("problem-count");
    if (problems) {
      const conflicts = findings.filter((f) => f.state === "conflict").length + photos.filter((p) => p.state === "conflict").length;
      const refused = findings.filter((f) => f.state === "rejected").length + photos.filter((p) => p.state === "rejected").length;
      const parts = [];
      if (conflicts) parts.push(fmt(M.conflicts, { count: conflicts }));
      if (refused) parts.push(fmt(M.rejected, { count: refused }));
      problems.textContent = parts.join(" · ");
      problems.hidden = !parts.length;
    }
    const button = $("sync-button");
    if (button) button.disabled = Boolean(syncing) && root.classList.contains("is-syncing");
  }

  function renderItem(li, findings, photos) {
    const item = Number(li.dataset.item);
    const present = current(findings, item);
    li.classList.remove("result-compliant", "result-violation", "result-not_applicable", "state-pending",
                        "state-synced", "state-conflict", "state-rejected");
    if (present) {
      li.classList.add(`result-${present.result}`);
      if (!present.fromServer) li.classList.add(`state-${present.state}`);
    }
    li.querySelectorAll("button.choice").forEach((button) => {
      button.setAttribute("aria-pressed", present && present.result === button.dataset.result ? "true" : "false");
      button.disabled = !CONFIG.editable;
    });
    const note = li.querySelector("textarea.note");
    note.disabled = !CONFIG.editable || !present;
    if (document.activeElement !== note && !pendingNotes.has(item)) note.value = present ? present.note || "" : "";
    const input = li.querySelector("input.photo-input");
    input.disabled = !CONFIG.editable || (!present && !li.hasAttribute("data-photo-only"));

    // Photos of this item: waiting ones shown from the tablet, stored ones counted.
    const ofItem = photos.filter((p) => p.target === TARGET && p.item === item);
    const waiting = ofItem.filter((p) => p.state === "pending");
    const storedIds = new Set();
    let serverPhotos = [];
    if (present) {
      const server = serverFinding(item);
      if (server && server.uuid === present.uuid) {
        serverPhotos = server.photos || [];
        serverPhotos.forEach((photo) => storedIds.add(photo.uuid));
      }
      ofItem.filter((p) => p.state === "synced" && p.finding === present.uuid)
        .forEach((p) => storedIds.add(p.server_uuid || p.uuid));
    }
    const thumbs = $(`thumbs-${item}`);
    thumbs.replaceChildren(...serverPhotos.map(storedThumb), ...waiting.map((photo) => {
      const figure = document.createElement("figure");
      figure.className = "thumb";
      figure.dataset.width = String(photo.width || "");
      figure.dataset.height = String(photo.height || "");
      const image = document.createElement("img");
      image.src = thumb(photo);
      image.alt = photo.name;
      figure.append(image);
      return figure;
    }));
    renderOthers(li, item, present);
    const photoStatus = $(`photo-status-${item}`);
    const photoParts = [];
    if (waiting.length) photoParts.push(fmt(M.photos_waiting, { count: waiting.length }));
    if (storedIds.size) photoParts.push(fmt(M.photos_stored, { count: storedIds.size }));
    ofItem.filter((p) => p.state === "rejected").forEach((p) => photoParts.push(fmt(M.photo_refused, { reason: p.problem || p.answer })));
    ofItem.filter((p) => p.state === "conflict").forEach((p) => photoParts.push(fmt(M.photo_conflict, { reason: p.problem || p.answer })));
    const needsPhoto = li.hasAttribute("data-photo-required") && present && present.result !== "not_applicable" &&
      !storedIds.size && !waiting.some((p) => p.finding === present.uuid);
    if (needsPhoto) photoParts.push(M.photo_needed);
    photoStatus.textContent = photoParts.join(" · ");
    photoStatus.classList.toggle("needs-photo", Boolean(needsPhoto));

    let text = M.not_recorded;
    if (present && present.fromServer) {
      text = `${M.state_server} (${time(present.device_time)})`;
    } else if (present) {
      text = {
        pending: M.state_pending,
        synced: `${M.state_synced} (${time(present.synced_at || present.device_time)})`,
        conflict: fmt(M.state_conflict, { stored: storedSummary(present.stored) || present.problem || "" }),
        rejected: fmt(M.state_rejected, { reason: present.problem || present.answer || "" }),
      }[present.state] || "";
    }
    showItemNote(item, text);
  }

  // A photo the server holds: its thumbnail (or the file, until the thumbnail is made), full size on a tap.
  function storedThumb(photo) {
    const link = document.createElement("a");
    link.className = "thumb stored";
    link.href = photo.file_url;
    link.target = "_blank";
    link.rel = "noopener";
    link.dataset.photo = photo.uuid;
    const image = document.createElement("img");
    image.src = photo.thumbnail_url || photo.file_url;
    image.alt = "";
    image.loading = "lazy";
    link.append(image);
    return link;
  }

  // Colleagues' findings on the item (who, when, what), a disagreement with mine, and the lead's review of mine.
  function renderOthers(li, item, present) {
    const others = serverOthers(item);
    const box = $(`others-${item}`);
    if (box) {
      const list = box.querySelector(".others-list");
      list.replaceChildren(...others.map((other) => {
        const row = document.createElement("li");
        row.className = "other";
        row.dataset.inspector = String(other.inspector ? other.inspector.id : "");
        row.dataset.result = other.result;
        const name = document.createElement("strong");
        name.textContent = other.inspector ? other.inspector.name : "";
        row.append(name, ` · ${time(other.device_time)} · ${resultLabel(other.result)}`);
        if (other.note) row.append(` · “${other.note}”`);
        if ((other.photos || []).length) {
          const photos = document.createElement("div");
          photos.className = "thumbs";
          photos.append(...other.photos.map(storedThumb));
          row.append(photos);
        }
        return row;
      }));
      box.hidden = !others.length;
    }
    const entry = serverItems.get(item);
    const mineResult = present ? present.result : null;
    const differs = Boolean(mineResult) && others.some((other) => other.result !== mineResult);
    const disputed = differs || Boolean(entry && entry.disputed && others.length);
    li.classList.toggle("disputed", disputed);
    const flag = $(`disputed-${item}`);
    if (flag) flag.hidden = !disputed;
    const review = $(`review-${item}`);
    if (review) {
      const state = present && present.fromServer && present.review ? present.review.state : "received";
      const note = present && present.review ? present.review.note : "";
      review.dataset.state = state;
      review.textContent = {
        needs_correction: fmt(M.review_needs_correction, { note }),
        rejected: fmt(M.review_rejected, { note }),
        accepted: M.review_accepted,
      }[state] || "";
      review.hidden = !review.textContent;
    }
  }

  function renderVisits(findings, photos) {
    const waiting = (rows, target) => rows.filter((row) => row.state === "pending" && row.target === target).length;
    document.querySelectorAll("[data-target-pending]").forEach((badge) => {
      const target = Number(badge.dataset.targetPending);
      const counts = { findings: waiting(findings, target), photos: waiting(photos, target) };
      badge.textContent = counts.findings + counts.photos ? fmt(M.target_pending, counts) : "";
      badge.hidden = !(counts.findings + counts.photos);
    });
  }

  let rendering = null;
  async function render() {
    // One render at a time; a render asked for meanwhile runs once after it.
    if (rendering) {
      rendering.again = true;
      return rendering.promise;
    }
    rendering = { again: false, promise: null };
    rendering.promise = (async () => {
      try {
        do {
          rendering.again = false;
          const [findings, photos] = await Promise.all([mine("findings"), mine("photos")]);
          await renderStatus(findings, photos);
          if (TARGET) document.querySelectorAll("li.item").forEach((li) => renderItem(li, findings, photos));
          else renderVisits(findings, photos);
          const waiting = new Set(photos.filter((p) => p.state === "pending").map((p) => p.uuid));
          for (const [uuid, url] of thumbUrls) {
            if (!waiting.has(uuid)) {
              URL.revokeObjectURL(url);
              thumbUrls.delete(uuid);
            }
          }
        } while (rendering.again);
      } catch (error) {
        const status = $("sync-status");
        if (status) status.textContent = fmt(M.storage_failed, { reason: error && error.message ? error.message : error });
      } finally {
        rendering = null;
      }
    })();
    return rendering.promise;
  }

  // --- Keeping the pages for use without a connection -----------------------------------------------------

  function ask(worker, message, timeoutMs) {
    return new Promise((resolve, reject) => {
      const channelPair = new MessageChannel();
      const timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
      channelPair.port1.onmessage = (event) => {
        clearTimeout(timer);
        resolve(event.data);
      };
      worker.postMessage(message, [channelPair.port2]);
    });
  }

  async function keepOffline() {
    const box = $("offline-ready");
    if (!("serviceWorker" in navigator) || !window.isSecureContext) {
      if (box) { box.textContent = M.offline_unavailable; box.hidden = false; }
      return;
    }
    try {
      await navigator.serviceWorker.register(CONFIG.urls.sw, { scope: CONFIG.urls.scope });
    } catch (error) {
      /* no connection to check for a new worker: the installed one stays */
    }
    const registration = await navigator.serviceWorker.ready;
    const urls = [{ url: location.href, refresh: false }, { url: CONFIG.urls.scope, refresh: false }];
    (CONFIG.targets || []).forEach((url) => urls.push({ url, refresh: true }));
    const answer = await ask(registration.active, { type: "keep", user: USER, urls }, 60000);
    if (answer && answer.ok && answer.kept.includes(location.pathname)) {
      document.documentElement.dataset.offlineReady = "true";
      if (box) { box.textContent = M.offline_ready; box.hidden = false; }
    }
  }

  // --- Wiring ---------------------------------------------------------------------------------------------

  async function saveNote(item) {
    const li = $(`item-${item}`);
    if (!li) return;
    await record(item, { note: li.querySelector("textarea.note").value.replace(/\r\n/g, "\n").trim() });
  }

  function wireItems() {
    document.querySelectorAll("li.item").forEach((li) => {
      const item = Number(li.dataset.item);
      li.querySelectorAll("button.choice").forEach((button) => {
        button.addEventListener("click", () => record(item, { result: button.dataset.result }));
      });
      const note = li.querySelector("textarea.note");
      note.addEventListener("input", () => {
        clearTimeout(pendingNotes.get(item));
        pendingNotes.set(item, setTimeout(() => {
          pendingNotes.delete(item);
          saveNote(item);
        }, NOTE_DELAY_MS));
      });
      note.addEventListener("change", () => {
        if (!pendingNotes.has(item)) return;
        clearTimeout(pendingNotes.get(item));
        pendingNotes.delete(item);
        saveNote(item);
      });
      const input = li.querySelector("input.photo-input");
      input.addEventListener("change", async () => {
        const files = Array.from(input.files || []);
        if (files.length) await addPhotos(item, files);
        input.value = "";
      });
    });
  }

  // --- Finishing the visit ------------------------------------------------------------------------------------

  // The outcome goes through the API's targets/<pk>/outcome/ (services.target_outcome_set decides: the team may
  // close a visit whose findings support the outcome, synced and undisputed).
  function wireFinish() {
    const box = $("finish-visit");
    if (!box) return;
    const status = $("finish-status");
    box.querySelectorAll("button.outcome-choice").forEach((button) => {
      button.addEventListener("click", async () => {
        if (await waitingRows()) {
          await sync();
          if (await waitingRows()) { status.textContent = M.finish_waiting; return; }
        }
        if (!(await ping())) { status.textContent = M.finish_offline; await render(); return; }
        const body = { outcome: button.dataset.outcome, note: $("finish-note").value.trim(),
                       violation_description: $("finish-description").value.trim() };
        let response;
        try {
          response = await fetch(CONFIG.outcome_url, {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
            body: JSON.stringify(body),
          });
        } catch (error) {
          status.textContent = M.finish_offline;
          return;
        }
        const answer = await readJson(response);
        if (response.ok && answer) {
          box.dataset.outcome = answer.outcome;
          status.textContent = fmt(M.finish_done, { outcome: answer.outcome_label || answer.outcome });
          box.querySelectorAll("button, textarea").forEach((control) => { control.disabled = true; });
          button.setAttribute("aria-pressed", "true");
        } else {
          status.textContent = fmt(M.finish_refused, { reason: problemText(answer) || response.status });
        }
      });
    });
  }

  async function start() {
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => undefined);
    if (TARGET) {
      wireItems();
      wireFinish();
      watchLocation();
    }
    const button = $("sync-button");
    if (button) button.addEventListener("click", () => sync());
    window.addEventListener("online", () => reconnect());
    window.addEventListener("offline", () => { serverState = "offline"; render(); });
    document.addEventListener("visibilitychange", () => { if (!document.hidden) render(); });
    if (channel) channel.onmessage = () => render();
    window.addEventListener("pagehide", () => { flushNotes(); });
    try {
      await prune();
    } catch (error) { /* storage unavailable: render() says so */ }
    await render();
    keepOffline().catch(() => undefined);
    await sync();
    root.dataset.ready = "true";
    // A connection (or the server) can come back without an "online" event: with something waiting, ask the
    // server now and then and sync when it answers; with nothing waiting, keep the badge true all the same.
    setInterval(async () => {
      if (syncing || reconnecting) return;
      if (await waitingRows()) {
        if (await ping()) await sync();
        else await render();
      } else {
        await ping();
        await render();
      }
    }, RETRY_MS);
    if (TARGET) {
      setInterval(async () => {
        if (!syncing && serverState === "up") { await refreshServer(); await render(); }
      }, REFRESH_MS);
    }
  }

  start();
})();
