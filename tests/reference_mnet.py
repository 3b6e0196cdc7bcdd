"""An M-Net written the way the public SHM reproductions write it (explicit layers, 6-channel input of RGB and
the trimap's one-hot, max-unpooling by the pooling indices, raw alpha out), independent of edgematte's model:
the checkpoints it saves are what users bring, in the training script's layout."""

import torch
from torch import nn


def _enc(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=True), nn.BatchNorm2d(cout), nn.ReLU())


def _dec(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 5, 1, 2, bias=True), nn.BatchNorm2d(cout), nn.ReLU())


class RefMNet(nn.Module):
    def __init__(self, width=1.0):
        super().__init__()
        c = [int(round(v * width)) for v in (64, 128, 256, 512)]
        self.conv_1_1, self.conv_1_2 = _enc(6, c[0]), _enc(c[0], c[0])
        self.max_pooling_1 = nn.MaxPool2d(2, 2, return_indices=True)
        self.conv_2_1, self.conv_2_2 = _enc(c[0], c[1]), _enc(c[1], c[1])
        self.max_pooling_2 = nn.MaxPool2d(2, 2, return_indices=True)
        self.conv_3_1, self.conv_3_2, self.conv_3_3 = _enc(c[1], c[2]), _enc(c[2], c[2]), _enc(c[2], c[2])
        self.max_pooling_3 = nn.MaxPool2d(2, 2, return_indices=True)
        self.conv_4_1, self.conv_4_2, self.conv_4_3 = _enc(c[2], c[3]), _enc(c[3], c[3]), _enc(c[3], c[3])
        self.max_pooling_4 = nn.MaxPool2d(2, 2, return_indices=True)
        self.conv_5_1, self.conv_5_2, self.conv_5_3 = _enc(c[3], c[3]), _enc(c[3], c[3]), _enc(c[3], c[3])
        self.deconv_5 = _dec(c[3], c[3])
        self.up_pool_4 = nn.MaxUnpool2d(2, 2)
        self.deconv_4 = _dec(c[3], c[2])
        self.up_pool_3 = nn.MaxUnpool2d(2, 2)
        self.deconv_3 = _dec(c[2], c[1])
        self.up_pool_2 = nn.MaxUnpool2d(2, 2)
        self.deconv_2 = _dec(c[1], c[0])
        self.up_pool_1 = nn.MaxUnpool2d(2, 2)
        self.deconv_1 = _dec(c[0], c[0])
        self.conv_0 = nn.Conv2d(c[0], 1, 5, 1, 2, bias=True)

    def forward(self, x):
        x = self.conv_1_2(self.conv_1_1(x))
        x, idx1 = self.max_pooling_1(x)
        x = self.conv_2_2(self.conv_2_1(x))
        x, idx2 = self.max_pooling_2(x)
        x = self.conv_3_3(self.conv_3_2(self.conv_3_1(x)))
        x, idx3 = self.max_pooling_3(x)
        x = self.conv_4_3(self.conv_4_2(self.conv_4_1(x)))
        x, idx4 = self.max_pooling_4(x)
        x = self.deconv_5(self.conv_5_3(self.conv_5_2(self.conv_5_1(x))))
        x = self.deconv_4(self.up_pool_4(x, idx4))
        x = self.deconv_3(self.up_pool_3(x, idx3))
        x = self.deconv_2(self.up_pool_2(x, idx2))
        x = self.deconv_1(self.up_pool_1(x, idx1))
        return self.conv_0(x)


def randomize_mnet(model, seed):
    """Random weights, BatchNorm statistics away from (0, 1), and conv_0 scaled so the raw alpha spans (0, 1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.75)
                m.weight.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.75)
                m.bias.copy_(torch.rand(m.num_features, generator=g) * 0.2 - 0.1)
        model.eval()
        x = torch.rand(1, 6, 64, 64, generator=g)
        raw = model(x)
        gain = 0.25 / float(raw.std())
        model.conv_0.weight.mul_(gain)
        model.conv_0.bias.mul_(gain).add_(0.5 - float(raw.mean()) * gain)
    return model


def save_training_format(model, path, epoch=7):
    """What a reproduction's training loop writes: {"epoch", "model": state_dict, "optimizer"}."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict()}, path)
    return path
