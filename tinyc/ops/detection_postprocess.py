"""TFLite_Detection_PostProcess (SSD's box decoding and non-max suppression) as TFLM's kernel
(tensorflow/lite/micro/kernels/detection_postprocess.cc), float32 only as there.

Inputs: box encodings [1, N, >= 4] (y, x, h, w per anchor), class scores [1, N, num_classes (+1 background)],
anchors [N, 4] (a float32 constant). Outputs: boxes [1, D, 4] (ymin, xmin, ymax, xmax), classes [1, D],
scores [1, D], the number of detections [1], all float32, D >= max_detections.

Decoding in double as TFLM: y / y_scale * anchor_h + anchor_y, 0.5 * exp(h / h_scale) * anchor_h, each rounded
to float, the corners in float. exp is tinyc's (fdlibm's algorithm, `_mathf.expd`) where TFLM calls libm's: it
differs from glibc's by one ulp on about one double in ten (arguments in [-8, 8]), which after the rounding to
float changed none of 40 million half sizes measured, nor any output in tests/test_detection_postprocess.py.
NMS: the boxes scoring >= nms_score_threshold, stable-sorted by decreasing score, greedily kept while they
overlap no kept box by IoU > nms_iou_threshold (IoU in TFLM's float operations). Fast NMS (use_regular_nms
false): each anchor's best class (the first of equal maxima) and one NMS over their scores. Regular NMS: one NMS
per class (at most detections_per_class each), the max_detections best of all by decreasing score, ties to the
earlier class then the earlier anchor (TFLM's partial sort on (score, position)).

TFLM leaves the outputs past the detections unwritten (fast NMS: past num_detections; regular: past
max_detections) and they keep whatever was there; tinyc writes zeros. TFLM stops with an error when a decoded box
is empty (ymin >= ymax or xmin >= xmax, e.g. a very negative h encoding); tinyc runs NMS as usual there (such a
box has IoU 0 with every box). Refused, as TFLM would misread them or write past its outputs: non-float32
inputs (TFLM's kernel has no quantized path: put a DEQUANTIZE before it), anchors that are not a float32
constant [N, 4], and fast NMS with more than one class per detection (TFLM's output index skips ahead).
"""

from __future__ import annotations

import math

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._mathf import expd
from tinyc.ops.signal._common import INT32, int_attr

F = np.float32
INTS = ("max_detections", "max_classes_per_detection", "detections_per_class", "num_classes")
FLOATS = ("nms_score_threshold", "nms_iou_threshold", "y_scale", "x_scale", "h_scale", "w_scale")
LIMIT = 1 << 16  # anchors, classes and detections: far above any SSD head, keeps the scratch in int32


def decode(enc: np.ndarray, anchors: np.ndarray, scales: tuple[float, float, float, float]) -> np.ndarray:
    """[N, >= 4] encodings and [N, 4] anchors -> [N, 4] float32 corners, as DecodeCenterSizeBoxes."""
    e, a = enc[:, :4].astype(np.float64), anchors.astype(np.float64)
    sy, sx, sh, sw = scales
    with np.errstate(all="ignore"):
        yc = (e[:, 0] / sy * a[:, 2] + a[:, 0]).astype(F)
        xc = (e[:, 1] / sx * a[:, 3] + a[:, 1]).astype(F)
        hh = (0.5 * expd(e[:, 2] / sh) * a[:, 2]).astype(F)
        hw = (0.5 * expd(e[:, 3] / sw) * a[:, 3]).astype(F)
        return np.stack([yc - hh, xc - hw, yc + hh, xc + hw], axis=1)


def iou(boxes: np.ndarray, area: np.ndarray, i: int, j: np.ndarray) -> np.ndarray:
    """ComputeIntersectionOverUnion of box i with boxes j: std::max/min as (a < b ? b : a) / (b < a ? b : a)."""
    bi, bj = boxes[i], boxes[j]
    with np.errstate(all="ignore"):
        ymin = np.where(bi[0] < bj[:, 0], bj[:, 0], bi[0])
        xmin = np.where(bi[1] < bj[:, 1], bj[:, 1], bi[1])
        ymax = np.where(bj[:, 2] < bi[2], bj[:, 2], bi[2])
        xmax = np.where(bj[:, 3] < bi[3], bj[:, 3], bi[3])
        dy, dx = ymax - ymin, xmax - xmin
        inter = np.where(dy < 0, F(0), dy) * np.where(dx < 0, F(0), dx)
        ratio = inter / (area[i] + area[j] - inter)
        return np.where((area[i] <= 0) | (area[j] <= 0), F(0), ratio)


def nms(boxes: np.ndarray, area: np.ndarray, scores: np.ndarray, p: dict, limit: int) -> list[int]:
    """NonMaxSuppressionSingleClassHelper: the kept anchors in selection (decreasing score) order."""
    keep = np.flatnonzero(scores >= F(p["nms_score_threshold"]))
    order = keep[np.argsort(-scores[keep], kind="stable")]  # no NaN here: it fails the threshold
    active = np.ones(len(order), bool)
    selected: list[int] = []
    thr = F(p["nms_iou_threshold"])
    for i in range(len(order)):
        if len(selected) >= min(len(order), limit):
            break
        if not active[i]:
            continue
        selected.append(int(order[i]))
        rest = np.flatnonzero(active[i + 1:]) + i + 1
        if rest.size:
            active[rest[iou(boxes, area, order[i], order[rest]) > thr]] = False
    return selected


def postprocess(enc: np.ndarray, cls: np.ndarray, anchors: np.ndarray, p: dict) -> list[np.ndarray]:
    """One inference: enc [N, C], cls [N, K] -> boxes [D, 4], classes [D], scores [D], count [1]."""
    boxes = decode(enc, anchors, (p["y_scale"], p["x_scale"], p["h_scale"], p["w_scale"]))
    with np.errstate(all="ignore"):
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    scores = cls[:, p["label_offset"]:]
    found: list[tuple[float, int, int]] = []  # (score, anchor, class), best first
    if p["regular"]:
        for c in range(p["num_classes"]):
            column = scores[:, c]
            new = [(float(column[i]), i, c) for i in nms(boxes, area, column, p, p["detections_per_class"])]
            merged, a, b = [], 0, 0
            while len(merged) < p["max_detections"] and (a < len(found) or b < len(new)):
                if b == len(new) or (a < len(found) and not new[b][0] > found[a][0]):
                    merged.append(found[a])
                    a += 1
                else:
                    merged.append(new[b])
                    b += 1
            found = merged
    else:
        best = np.zeros(len(scores), np.int64)
        top = scores[:, 0].copy()
        for c in range(1, p["num_classes"]):
            better = scores[:, c] > top
            best, top = np.where(better, c, best), np.where(better, scores[:, c], top)
        found = [(float(top[i]), i, int(best[i])) for i in nms(boxes, area, top, p, p["max_detections"])]
    d = p["detections"]
    out_boxes, out_classes, out_scores = np.zeros((d, 4), F), np.zeros(d, F), np.zeros(d, F)
    for k, (score, anchor, c) in enumerate(found):
        out_boxes[k], out_classes[k], out_scores[k] = boxes[anchor], c, score
    return [out_boxes, out_classes, out_scores, np.array([len(found)], F)]


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    enc, cls = inputs
    n, p = len(enc), step.params
    anchors = step.consts["anchors"].reshape(-1, 4)
    rows = [postprocess(enc[b].reshape(p["anchors"], -1), cls[b].reshape(p["anchors"], -1), anchors, p)
            for b in range(n)]
    return [np.stack([r[k] for r in rows]).reshape(n, *shape) for k, shape in enumerate(p["out_shapes"])]


def scratch_layout(p: dict) -> dict[str, int]:
    """Byte offsets of the C kernel's scratch buffers (4-byte values first, the active flags last) and their
    total 'size': fixed at compile time, no heap."""
    n, md = p["anchors"], p["max_detections"]
    sizes = {"decoded": 16 * n, "column": 4 * n, "order": 4 * n, "tmp": 4 * n,
             "selected": 4 * min(n, p["detections_per_class"] if p["regular"] else md)}
    if p["regular"]:
        sizes |= {name: 4 * md for name in ("found_score", "found_anchor", "found_class",
                                            "merged_score", "merged_anchor", "merged_class")}
    else:
        sizes["best"] = 4 * n
    sizes["active"] = n
    layout, at = {}, 0
    for name, size in sizes.items():
        layout[name] = at
        at += size
    layout["size"] = at
    return layout


@register
class DetectionPostprocess(OpDef):
    name = "detection_postprocess"
    tflite = ("TFLite_Detection_PostProcess",)
    arity = (3, 3)
    outputs = (4, 4)
    kernels = {"detection_postprocess": run}
    dtypes = frozenset({("float32", "float32")})

    def check(self, node: Node, graph: Graph) -> None:
        enc, cls, anchors = (graph.tensor(n) for n in node.inputs)
        boxes, classes, scores, count = (graph.tensor(n) for n in node.outputs)
        for t, what in ((enc, "box encodings"), (cls, "class predictions")):
            expect(len(t.shape) == 3 and t.shape[0] == 1, node, f"the {what} must be [1, anchors, n], got "
                   f"{list(t.shape)}")
        n = enc.shape[1]
        expect(1 <= n <= LIMIT, node, f"{n} anchors is outside 1..{LIMIT}")
        expect(enc.shape[2] >= 4, node, f"box encodings of {enc.shape[2]} values (need y, x, h, w)")
        expect(cls.shape[1] == n, node, f"class predictions for {cls.shape[1]} anchors, box encodings for {n}")
        expect(anchors.is_const and anchors.dtype == "float32" and anchors.shape == (n, 4), node,
               f"the anchors must be a float32 constant [{n}, 4] (TFLM reads them as float32 [anchors, 4]), got "
               f"{'a constant' if anchors.is_const else 'an activation'} {anchors.dtype} {list(anchors.shape)}")
        expect(bool(np.all(np.isfinite(anchors.data))), node, "the anchors must be finite")
        regular = node.attrs.get("use_regular_nms")
        expect(isinstance(regular, bool), node, f"attribute 'use_regular_nms' must be a bool, got {regular!r}")
        unused = "max_classes_per_detection" if regular else "detections_per_class"  # not read in this mode
        for key in INTS:
            int_attr(node, key, *(INT32 if key == unused else (1, LIMIT)))
        value = {}
        for key in FLOATS:
            v = node.attrs.get(key)
            expect(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(F(v)), node,
                   f"attribute '{key}' must be a number finite in float32, got {v!r}")
            value[key] = F(v)  # as TFLM holds it
        for key in ("y_scale", "x_scale", "h_scale", "w_scale"):
            expect(value[key] > 0, node, f"attribute '{key}' must be positive in float32, got {node.attrs[key]!r}")
        expect(0 < value["nms_iou_threshold"] <= 1, node,
               f"nms_iou_threshold {node.attrs['nms_iou_threshold']!r} is outside (0, 1] (TFLM refuses it)")
        k, background = node.attrs["num_classes"], cls.shape[2] - node.attrs["num_classes"]
        expect(background in (0, 1), node, f"{cls.shape[2]} class scores per anchor for num_classes {k} (TFLM "
               "takes num_classes, or one more for a background class first)")
        expect(regular or min(node.attrs["max_classes_per_detection"], k) == 1, node,
               "fast NMS with max_classes_per_detection > 1 is refused: TFLM writes class c of detection i at "
               "index m * (m * i + c) + c for m classes, past its outputs")
        md = node.attrs["max_detections"]
        d = boxes.shape[1] if len(boxes.shape) == 3 else 0
        expect(d >= md and boxes.shape == (1, d, 4), node,
               f"detection boxes must be [1, D, 4] with D >= max_detections {md}, got {list(boxes.shape)}")
        for t, what in ((classes, "classes"), (scores, "scores")):
            expect(t.shape == (1, d), node, f"detection {what} must be [1, {d}], got {list(t.shape)}")
        expect(count.size == 1, node, f"the number of detections must be one value, got {list(count.shape)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        enc, cls, anchors = (graph.tensor(n) for n in node.inputs)
        a = node.attrs
        p = {key: int(a[key]) for key in INTS} | {key: float(F(a[key])) for key in FLOATS}
        p |= {"regular": bool(a["use_regular_nms"]), "anchors": enc.shape[1], "enc_stride": enc.shape[2],
              "cls_stride": cls.shape[2], "label_offset": cls.shape[2] - int(a["num_classes"]),
              "detections": graph.tensor(node.outputs[0]).shape[1],
              "out_shapes": tuple(graph.tensor(o).shape for o in node.outputs)}
        layout = scratch_layout(p)
        p |= {f"at_{key}": at for key, at in layout.items() if key != "size"}
        return Step("detection_postprocess", node.name, list(node.inputs[:2]), list(node.outputs), p,
                    {"anchors": anchors.data.astype(F).reshape(-1)}, scratch=layout["size"])
