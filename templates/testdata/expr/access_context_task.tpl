${{ context.task.id }}
