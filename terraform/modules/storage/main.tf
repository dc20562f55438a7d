# The StorageClass for the service's volumes: Ceph RBD (block, ReadWriteOnce) or NFS (shared,
# ReadWriteMany). Reading the class at plan time makes a missing backend fail the plan, shown
# on the card, instead of leaving PersistentVolumeClaims Pending after approval.

terraform {
  required_providers {
    kubernetes = { source = "hashicorp/kubernetes" }
  }
}

variable "backend" {
  type = string
  validation {
    condition     = contains(["ceph", "nfs"], var.backend)
    error_message = "backend must be ceph or nfs"
  }
}
variable "storage_class" { type = string }
variable "needed" {
  type        = bool
  description = "whether the workload asks for storage at all"
}

data "kubernetes_storage_class_v1" "this" {
  count = var.needed ? 1 : 0
  metadata {
    name = var.storage_class
  }
}

output "storage_class" {
  value = var.needed ? data.kubernetes_storage_class_v1.this[0].metadata[0].name : ""
}

output "access_mode" {
  value = var.backend == "nfs" ? "ReadWriteMany" : "ReadWriteOnce"
}
