"""The classification networks whose Ascend latencies are published (:mod:`edgematte.bench.published`),
written here from their papers' layer tables (torchvision's layouts: MobileNetV2's inverted-residual
settings, ResNet-18's basic blocks, VGG-16's configuration D, SqueezeNet 1.1's fire modules, MobileNetV1's
depthwise-separable stack) so the cost model can run the graphs the published numbers were measured on.

Only shapes matter to the cost model: :func:`reference_onnx` exports without weights (they become graph
inputs), which keeps VGG-16's 138 M parameters out of memory.
"""

from __future__ import annotations

import io


def _layers():
    from torch import nn

    def conv_bn(cin, cout, k, s, groups=1, act=nn.ReLU):
        return [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), act()]

    class MobileNetV1(nn.Module):
        def __init__(self):
            super().__init__()
            cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5, (1024, 2), (1024, 1)]
            layers, c = conv_bn(3, 32, 3, 2), 32
            for out, s in cfg:
                layers += conv_bn(c, c, 3, s, groups=c) + conv_bn(c, out, 1, 1)
                c = out
            self.features = nn.Sequential(*layers)
            self.fc = nn.Linear(1024, 1000)

        def forward(self, x):
            return self.fc(self.features(x).mean((2, 3)))

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, s, t):
            super().__init__()
            hidden = cin * t
            layers = conv_bn(cin, hidden, 1, 1, act=nn.ReLU6) if t != 1 else []
            layers += conv_bn(hidden, hidden, 3, s, groups=hidden, act=nn.ReLU6)
            layers += [nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
            self.body, self.residual = nn.Sequential(*layers), s == 1 and cin == cout

        def forward(self, x):
            return x + self.body(x) if self.residual else self.body(x)

    class MobileNetV2(nn.Module):
        def __init__(self):
            super().__init__()
            settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                        (6, 320, 1, 1)]
            layers, c = conv_bn(3, 32, 3, 2, act=nn.ReLU6), 32
            for t, out, n, s in settings:
                for i in range(n):
                    layers.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                    c = out
            layers += conv_bn(c, 1280, 1, 1, act=nn.ReLU6)
            self.features = nn.Sequential(*layers)
            self.fc = nn.Linear(1280, 1000)

        def forward(self, x):
            return self.fc(self.features(x).mean((2, 3)))

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, s):
            super().__init__()
            self.body = nn.Sequential(*conv_bn(cin, cout, 3, s), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(cout))
            self.short = (nn.Sequential(nn.Conv2d(cin, cout, 1, s, bias=False), nn.BatchNorm2d(cout))
                          if s != 1 or cin != cout else nn.Identity())
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.body(x) + self.short(x))

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            layers = conv_bn(3, 64, 7, 2) + [nn.MaxPool2d(3, 2, 1)]
            c = 64
            for out, s in ((64, 1), (128, 2), (256, 2), (512, 2)):
                layers += [BasicBlock(c, out, s), BasicBlock(out, out, 1)]
                c = out
            self.features = nn.Sequential(*layers)
            self.fc = nn.Linear(512, 1000)

        def forward(self, x):
            return self.fc(self.features(x).mean((2, 3)))

    class VGG16(nn.Module):
        def __init__(self):
            super().__init__()
            layers, c = [], 3
            for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
                if v == "M":
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    layers += [nn.Conv2d(c, v, 3, 1, 1), nn.ReLU()]
                    c = v
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
                                            nn.Linear(4096, 1000))

        def forward(self, x):
            return self.classifier(self.features(x).flatten(1))

    class Fire(nn.Module):
        def __init__(self, cin, squeeze, e1, e3):
            super().__init__()
            self.squeeze = nn.Sequential(nn.Conv2d(cin, squeeze, 1), nn.ReLU())
            self.e1 = nn.Sequential(nn.Conv2d(squeeze, e1, 1), nn.ReLU())
            self.e3 = nn.Sequential(nn.Conv2d(squeeze, e3, 3, padding=1), nn.ReLU())

        def forward(self, x):
            import torch

            s = self.squeeze(x)
            return torch.cat([self.e1(s), self.e3(s)], 1)

    class SqueezeNet11(nn.Module):
        def __init__(self):
            super().__init__()
            pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, 3, 2), nn.ReLU(), pool(), Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(), Fire(256, 48, 192, 192),
                Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256),
                nn.Conv2d(512, 1000, 1), nn.ReLU())

        def forward(self, x):
            return self.features(x).mean((2, 3))

    return {"mobilenet_v1": MobileNetV1, "mobilenet_v2": MobileNetV2, "resnet18": ResNet18, "vgg16": VGG16,
            "squeezenet1_1": SqueezeNet11}


REFERENCE_NETS = ("mobilenet_v1", "mobilenet_v2", "resnet18", "vgg16", "squeezenet1_1")


def reference_model(name: str):
    return _layers()[name]().eval()


def reference_onnx(name: str, batch: int = 1, size: int = 224):
    """The network as the ModelZoo hands it to atc (ONNX, static batch), without its weights."""
    import onnx
    import torch

    model = reference_model(name)
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(batch, 3, size, size), buf, opset_version=13, dynamo=False,
                          input_names=["input"], output_names=["output"], export_params=False)
    return onnx.load_from_string(buf.getvalue())
