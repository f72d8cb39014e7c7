# The PyTorch peer of `cotrain bench -peer`: the same benchmark case as pkg/bench (VGG-19-BN topology with the
# paper's fully convolutional head, a grayscale image repeated into 3 channels, SGD without momentum), timed the same
# way (two untimed warm-up steps, then at least "steps" timed steps and at least "min_seconds"), on the CPU, in this
# process alone.
#
# Usage: python3 torch_peer.py '{"kind": "train", "width_divisor": 8, "input_size": 32, "batch": 128, "steps": 3,
#        "threads": 2}'
# Prints one JSON object: images_per_second, seconds_per_step, peak_rss_mib, cores (CPU time / wall time over the
# timed steps), torch version and threads. Needs PyTorch (Debian: apt-get install python3-torch).
import json
import resource
import sys
import time

import torch
import torch.nn as nn

CFG = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M']


def features(div, end=None):
    """VGG-19-BN's features; end='conv3_1' stops after the shared block (BN and ReLU of conv3_1)."""
    layers, c, stage, n = [], 3, 1, 1
    for v in CFG:
        if v == 'M':
            layers.append(nn.MaxPool2d(2, 2))
            stage, n = stage + 1, 1
            continue
        layers += [nn.Conv2d(c, v // div, 3, padding=1), nn.BatchNorm2d(v // div), nn.ReLU(inplace=True)]
        c = v // div
        if end == 'conv%d_%d' % (stage, n):
            break
        n += 1
    return layers, c


def classifier(div, classes=10):
    layers, c = features(div)
    h = 4096 // div
    layers += [nn.Conv2d(c, h, 1), nn.ReLU(True), nn.Dropout(0.5), nn.Conv2d(h, h, 1), nn.ReLU(True), nn.Dropout(0.5),
               nn.Conv2d(h, classes, 1), nn.AdaptiveMaxPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


def main():
    case = json.loads(sys.argv[1])
    torch.set_num_threads(case.get('threads', 2))
    torch.manual_seed(1)
    kind, div, size, batch = case['kind'], case['width_divisor'], case['input_size'], case['batch']
    x = torch.randn(batch, 1, size, size)
    if kind == 'train':
        model = classifier(div)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        y = torch.randint(0, 10, (batch,))
        lossf = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss = lossf(model(x.expand(-1, 3, -1, -1)), y)
            loss.backward()
            opt.step()
    elif kind == 'infer':
        model = classifier(div).eval()

        def step():
            with torch.no_grad():
                model(x.expand(-1, 3, -1, -1)).argmax(-1)
    elif kind == 'recon':
        layers, _ = features(div, end='conv3_1')
        model = nn.Sequential(*layers).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        target = model(x.expand(-1, 3, -1, -1)).detach() * 0.5

        def step():
            img = x.clone().requires_grad_(True)
            loss = ((model(img.expand(-1, 3, -1, -1)) - target) ** 2).mean()
            loss.backward()
            return img.grad
    else:
        raise SystemExit('unknown kind %r' % kind)
    step()  # warm-up, as pkg/bench does
    step()
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    steps = 0
    while steps < case['steps'] or time.perf_counter() - t0 < case.get('min_seconds', 0):
        step()
        steps += 1
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(json.dumps({
        'images_per_second': batch * steps / wall,
        'seconds_per_step': wall / steps,
        'peak_rss_mib': r1.ru_maxrss / 1024,
        'cores': cpu / wall,
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
    }))


if __name__ == '__main__':
    main()
