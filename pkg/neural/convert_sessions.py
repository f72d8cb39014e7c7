#!/usr/bin/env python3
"""Convert the authors' per-session V1 recordings into this project's neural dataset format (pkg/neural).

Input layout (sinzlab/nnvision monkey_static_loader):

    <dir>/neuronal_data/*.pickle   one pickle per recording session, a dict with
        subject_id, session_id          -> the session's name is "<subject_id>_<session_id>"
        training_responses              (neurons, time_bins, trials) spike counts per 10 ms bin
        testing_responses               (neurons, time_bins, trials), the repeated test images
        training_image_ids, testing_image_ids   (trials,) image ids
    <dir>/images/NNNNNN.npy        one 2-D uint8 grey image per id (6-digit zero-padded file name)

Responses are summed over the first --time-bins bins (the paper: 12 bins = 40-160 ms after onset) and transposed to
(trials, neurons). Images are cropped by --crop pixels on every side and rescaled by --scale (bilinear), as the
authors' Crop(36) + Rescale(0.4), which turns their 35 pixels-per-degree stimuli into 64x64 images at 14 ppd.

The public Cadena et al. (2019) data (GIN "Cadena_PlosCB19_data", cadena_ploscb_data.pkl, CC BY-NC-ND 4.0) is laid
out differently: one pickle with images (7250, 140, 140), responses (4 repeats, 7250 images, 166 neurons; NaN where a
neuron has only 2 repeats), repetitions (166,), subject_id, session_id, unit_id, image_ids and image_types. To use it,
group neurons by session_id, take the first 80% of images as training trials (one trial per repeat) and the rest as
repeated test images, and write the same files; NaN marks missing test repeats in this format too.

Usage:
    python3 convert_sessions.py <authors_dir> <out_dir> [--time-bins 12] [--crop 36] [--scale 0.4] [--ppd 35]
    python3 convert_sessions.py --selftest <work_dir>   # generate a small example in the authors' layout, convert it

Needs only numpy (Debian: python3-numpy).
"""
import argparse
import glob
import json
import os
import pickle
import sys

import numpy as np


def rescale(img, scale):
    """Bilinear rescaling with pixel centres aligned (like skimage.transform.rescale, order 1)."""
    h, w = img.shape
    oh, ow = int(round(h * scale)), int(round(w * scale))
    ys = np.clip((np.arange(oh) + 0.5) / scale - 0.5, 0, h - 1)
    xs = np.clip((np.arange(ow) + 0.5) / scale - 0.5, 0, w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    dy, dx = (ys - y0)[:, None], (xs - x0)[None, :]
    f = img.astype(np.float64)
    out = (1 - dy) * ((1 - dx) * f[y0][:, x0] + dx * f[y0][:, x1]) + dy * ((1 - dx) * f[y1][:, x0] + dx * f[y1][:, x1])
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def convert(src, out, time_bins=12, crop=36, scale=0.4, ppd=35.0):
    sessions = sorted(glob.glob(os.path.join(src, "neuronal_data", "*.pickle")))
    if not sessions:
        sys.exit("no session pickles in %s" % os.path.join(src, "neuronal_data"))
    records, used_ids = [], set()
    for path in sessions:
        with open(path, "rb") as f:
            s = pickle.load(f)
        for key in ("training_responses", "testing_responses", "training_image_ids", "testing_image_ids"):
            if key not in s:
                sys.exit("%s: missing key %s" % (path, key))
        records.append((path, s))
        used_ids.update(int(i) for i in s["training_image_ids"])
        used_ids.update(int(i) for i in s["testing_image_ids"])
    ids = sorted(used_ids)
    index = {i: k for k, i in enumerate(ids)}
    images = []
    for i in ids:
        p = os.path.join(src, "images", "%06d.npy" % i)
        if not os.path.exists(p):
            sys.exit("image %d: missing file %s" % (i, p))
        img = np.load(p)
        if img.ndim != 2:
            sys.exit("%s: want a 2-D grey image, got shape %s" % (p, img.shape))
        if crop:
            img = img[crop:-crop, crop:-crop]
        if scale != 1:
            img = rescale(img, scale)
        images.append(img.astype(np.uint8))
    images = np.stack(images)
    if images.shape[1] != images.shape[2]:
        sys.exit("images are %dx%d after cropping and rescaling; want square images" % images.shape[1:])
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "images.npy"), images)
    meta = {"source": "recorded V1 (converted from %s)" % os.path.abspath(src), "simulated": False,
            "ppd": ppd * scale, "image_size": int(images.shape[1]),
            "window_ms": [40.0, 40.0 + 10.0 * time_bins], "sessions": []}
    neuron = 0
    for path, s in records:
        sid = "%s_%s" % (s.get("subject_id", "subject"), s.get("session_id", os.path.basename(path)))
        d = os.path.join(out, sid)
        os.makedirs(d, exist_ok=True)
        n = s["training_responses"].shape[0]
        for part in ("training", "testing"):
            r = np.asarray(s[part + "_responses"], dtype=np.float64)  # (neurons, bins, trials)
            if r.ndim != 3 or r.shape[0] != n:
                sys.exit("%s: %s_responses has shape %s, want (neurons, time_bins, trials)" % (path, part, r.shape))
            counts = r[:, :time_bins, :].sum(axis=1).T.astype(np.float32)  # (trials, neurons)
            img_ids = np.array([index[int(i)] for i in s[part + "_image_ids"]], dtype=np.int64)
            if len(img_ids) != counts.shape[0]:
                sys.exit("%s: %d %s image ids for %d trials" % (path, len(img_ids), part, counts.shape[0]))
            name = "train" if part == "training" else "test"
            np.save(os.path.join(d, name + "_image_ids.npy"), img_ids)
            np.save(os.path.join(d, name + "_responses.npy"), np.ascontiguousarray(counts))
        meta["sessions"].append({"id": sid, "neurons": list(range(neuron, neuron + n))})
        neuron += n
    with open(os.path.join(out, "meta.json"), "w") as f:  # last: a folder with meta.json is complete
        json.dump(meta, f, indent=2)
    return out


def selftest(work):
    """Write a small example in the authors' layout (2 sessions, 3 and 2 neurons, 20 bins, 108x108 images at 35 ppd)
    and convert it. Responses are (trial + neuron + bin) mod 3, so that a test can check the sums."""
    src = os.path.join(work, "authors")
    os.makedirs(os.path.join(src, "neuronal_data"), exist_ok=True)
    os.makedirs(os.path.join(src, "images"), exist_ok=True)
    for i in range(1, 13):
        np.save(os.path.join(src, "images", "%06d.npy" % i), np.full((108, 108), 20 * i % 256, dtype=np.uint8))
    for k, n in enumerate((3, 2)):
        train_ids = np.arange(1, 9)
        test_ids = np.repeat(np.arange(9, 13), 5)
        def resp(trials):
            t, u, b = np.meshgrid(np.arange(trials), np.arange(n), np.arange(20), indexing="ij")
            return ((t + u + b) % 3).transpose(1, 2, 0)  # (neurons, bins, trials)
        s = {"subject_id": "m%d" % (k + 1), "session_id": "s%d" % (k + 1),
             "training_responses": resp(len(train_ids)), "testing_responses": resp(len(test_ids)),
             "training_image_ids": train_ids, "testing_image_ids": test_ids}
        with open(os.path.join(src, "neuronal_data", "session%d.pickle" % k), "wb") as f:
            pickle.dump(s, f)
    return convert(src, os.path.join(work, "converted"), time_bins=12, crop=18, scale=0.4)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", nargs="?")
    ap.add_argument("out", nargs="?")
    ap.add_argument("--time-bins", type=int, default=12)
    ap.add_argument("--crop", type=int, default=36)
    ap.add_argument("--scale", type=float, default=0.4)
    ap.add_argument("--ppd", type=float, default=35.0, help="pixels per degree of the original stimuli")
    ap.add_argument("--selftest", metavar="WORK_DIR")
    a = ap.parse_args()
    if a.selftest:
        print(selftest(a.selftest))
        return
    if not a.src or not a.out:
        ap.error("give <authors_dir> <out_dir>, or --selftest WORK_DIR")
    print(convert(a.src, a.out, a.time_bins, a.crop, a.scale, a.ppd))


if __name__ == "__main__":
    main()
