# Used by docker/gpu-bench.sh. The same VGG-19-BN topology (3-channel conv1_1, 1x1-conv head, global max-pool) in PyTorch, trained with SGD:
# images/s at batch 128, for the side-by-side ratio with cotrain bench on the same GPU.
import json, sys, time, torch, torch.nn as nn
cfg = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M']
def net(div, classes=10):
    layers, c = [], 3
    for v in cfg:
        if v == 'M':
            layers.append(nn.MaxPool2d(2, 2)); continue
        layers += [nn.Conv2d(c, v // div, 3, padding=1), nn.BatchNorm2d(v // div), nn.ReLU(inplace=True)]; c = v // div
    h = 4096 // div
    layers += [nn.Conv2d(c, h, 1), nn.ReLU(True), nn.Dropout(0.5), nn.Conv2d(h, h, 1), nn.ReLU(True), nn.Dropout(0.5),
               nn.Conv2d(h, classes, 1), nn.AdaptiveMaxPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)
out = []
for div, size in [(8, 32), (4, 64), (1, 64)]:
    m = net(div).cuda(); opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.75, weight_decay=5e-4)
    x = torch.randn(128, 1, size, size, device='cuda').expand(-1, 3, -1, -1).contiguous(); y = torch.randint(0, 10, (128,), device='cuda')
    lossf = nn.CrossEntropyLoss()
    def step():
        opt.zero_grad(); loss = lossf(m(x), y); loss.backward(); opt.step()
    for _ in range(5): step()
    torch.cuda.synchronize(); t = time.time(); n = 30
    for _ in range(n): step()
    torch.cuda.synchronize(); dt = (time.time() - t) / n
    out.append({"case": "train /%d %dx%d batch 128" % (div, size, size), "images_per_second": 128 / dt})
    print(out[-1], flush=True)
json.dump(out, open(sys.argv[1], 'w'), indent=1)
